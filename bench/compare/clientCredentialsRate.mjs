// A client credentials profile's cached token against a login's cached token, one request per
// connection from 8 clients (bench/lib/connload.c), against one agent of the current build: a
// service's tokens are served from the same cache, at the same rate (issue 23).
import { tokenRequest } from '../lib/agentRpc.mjs';
import { inRoundOrder } from '../lib/hyperfine.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { startGrantsAgent } from './grantsAgent.mjs';
import { atLeast } from './rowLines.mjs';

const PROFILES = ['main', 'service'];
const rate = (what, value) => ({
  what,
  unit: '/s',
  digits: 0,
  better: 'higher',
  values: { current: value },
});

export const clientCredentialsRate = {
  key: 'clientCredentialsRate',
  title: 'client credentials tokens/s against a login token (issue 23), current build',
  async measure(subjects, { P, C, dir, quiet, tools, cleanups }) {
    const agent = await startGrantsAgent({ dir, cleanups }, subjects[0].build, 'service');
    try {
      const rates = { main: [], service: [] };
      for (let rep = 0; rep < C.reps; rep++) {
        await quiet.waitQuiet('compare: client credentials');
        for (const profile of inRoundOrder(PROFILES, rep)) {
          const window = [P.warmupMs, P.windowMs];
          const request = tokenRequest(profile);
          const load = () => tools.oneShot(agent.kms.socket, 'kms', request, 8, window);
          const result = await quiet.undisturbed(`compare: ${profile} tokens/s`, load);
          rates[profile].push(result.tokensPerSec);
        }
      }
      const main = median(rates.main);
      const service = median(rates.service);
      return { current: { main, service, serviceVsMain: ratio(service, main) } };
    } finally {
      await agent.stop();
    }
  },
  lines: ({ current }) => [
    rate('one request per connection, 8 clients: a login token', current.main),
    rate('the same, a client credentials token', current.service),
    {
      what: 'client credentials ÷ login token',
      unit: '×',
      digits: 3,
      better: 'higher',
      values: { current: current.serviceVsMain },
      goal: atLeast(0.95, '≥ 0.95×: the same rate (issue 23)'),
    },
  ],
};
