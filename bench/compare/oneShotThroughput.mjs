// One request per connection, 8 clients (bench/lib/connload.c), against each build in turn: the
// rate, and the daemon's CPU per connection. A per-connection cost a build adds (such as reading
// the peer's credentials, issue 22) shows as the difference of the second figure.
import { tokenRequest } from '../lib/agentRpc.mjs';
import { withServerCpu } from '../lib/cpuAccounting.mjs';
import { inRoundOrder } from '../lib/hyperfine.mjs';
import { median } from '../lib/stats.mjs';
import { pick, within } from './rowLines.mjs';

export const oneShotThroughput = {
  key: 'oneShotThroughput',
  title: 'one request per connection',
  async measure(subjects, { P, C, tools, quiet }) {
    const runs = Object.fromEntries(subjects.map((s) => [s.name, []]));
    for (let rep = 0; rep < C.reps; rep++) {
      await quiet.waitQuiet('compare: one-shot');
      for (const s of inRoundOrder(subjects, rep)) {
        const window = [P.warmupMs, P.windowMs];
        const load = () => tools.oneShot(s.kms.socket, 'kms', tokenRequest('main'), 8, window);
        const measure = () => withServerCpu([s.kms.pid], load);
        runs[s.name].push(await quiet.undisturbed(`compare: one-shot ${s.name}`, measure));
      }
    }
    const figures = (list) => ({
      tokensPerSec: median(list.map((r) => r.tokensPerSec)),
      cpuUsPerRequest: median(list.map((r) => (r.serverCpuPct / 100 / r.tokensPerSec) * 1e6)),
    });
    return Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, figures(list)]));
  },
  lines: (data) => [
    {
      what: 'one request per connection, 8 clients: tokens/s',
      unit: '/s',
      digits: 0,
      better: 'higher',
      values: pick(data, 'tokensPerSec'),
      goal: within(0.05, 'within 5% (issue 22)'),
    },
    {
      what: 'daemon CPU per one-shot connection',
      unit: 'µs',
      digits: 1,
      better: 'lower',
      values: pick(data, 'cpuUsPerRequest'),
    },
  ],
};
