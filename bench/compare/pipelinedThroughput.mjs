// Pipelined tokens/s of each build (persistent connections, 16 requests in flight each) at 8 and
// 50 clients, and oidc-agent's one-request-per-connection rate at the same concurrency, measured
// in the same repetition: each build's ratio to oidc-agent.
import { oidcTokenRequest } from '../lib/agentRpc.mjs';
import { inRoundOrder } from '../lib/hyperfine.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { atLeast, pick } from './rowLines.mjs';

const perSecond = (v) => `${Math.round(v).toLocaleString('en-US')}/s`;

export const pipelinedThroughput = {
  key: 'pipelinedThroughput',
  title: 'pipelined tokens/s, and against oidc-agent',
  async measure(subjects, { P, C, tools, quiet, oidc }) {
    const window = { warmupMs: P.warmupMs, durationMs: P.windowMs };
    const rates = { oidc: {} };
    for (const s of subjects) rates[s.name] = {};
    for (const c of C.concurrency) {
      for (const r of Object.values(rates)) r[c] = [];
      for (let rep = 0; rep < C.reps; rep++) {
        await quiet.waitQuiet(`compare: pipelined c=${c}`);
        const request = oidcTokenRequest('bench', 60);
        const until = [window.warmupMs, window.durationMs];
        const oidcLoad = () => tools.oneShot(oidc.socket, 'oidc', request, c, until);
        const o = await quiet.undisturbed(`compare: oidc c=${c}`, oidcLoad);
        rates.oidc[c].push(o.tokensPerSec);
        for (const s of inRoundOrder(subjects, rep)) {
          const spec = { agent: 'kms', socket: s.kms.socket, mode: 'pipe', concurrency: c };
          const load = () => tools.pipelined({ ...spec, depth: P.pipeDepth, ...window });
          const r = await quiet.undisturbed(`compare: ${s.name} c=${c}`, load);
          rates[s.name][c].push(r.tokensPerSec);
        }
      }
    }
    const figures = (perC) => {
      const out = {};
      for (const c of C.concurrency) {
        out[`at${c}`] = median(perC[c]);
        out[`vsOidcAt${c}`] = ratio(median(perC[c]), median(rates.oidc[c]));
      }
      return out;
    };
    const each = ([name, perC]) => [name, figures(perC)];
    const perBuild = Object.fromEntries(Object.entries(rates).map(each));
    return { concurrency: C.concurrency, depth: P.pipeDepth, ...perBuild };
  },
  lines: ({ concurrency, depth, oidc, ...data }) =>
    concurrency.flatMap((c) => [
      {
        what: `pipelined tokens/s, ${c} clients × ${depth} in flight`,
        unit: '/s',
        digits: 0,
        better: 'higher',
        values: pick(data, `at${c}`),
      },
      {
        what: `pipelined ÷ oidc-agent (${c} clients; oidc-agent ${perSecond(oidc[`at${c}`])})`,
        unit: '×',
        digits: 1,
        better: 'higher',
        values: pick(data, `vsOidcAt${c}`),
        goal: atLeast(15, '≥ 15× (issues 21, 22)'),
      },
    ]),
};
