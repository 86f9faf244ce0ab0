// Tokens per second over the socket, both agents, at 1 to 200 concurrent clients: one request
// per connection (both), persistent and pipelined connections (kms-agent only: oidc-agent answers
// one request per connection). The token is cached: no provider call.
import { oidcTokenRequest, tokenRequest } from '../lib/agentRpc.mjs';
import { startAccounting, withServerCpu } from '../lib/cpuAccounting.mjs';
import { cellMedian } from '../lib/stats.mjs';

export const throughputModes = (P) => [
  { key: 'oidc-conn', agent: 'oidc', label: 'oidc-agent, one request per connection' },
  { key: 'kms-conn', agent: 'kms', label: 'kms-agent, one request per connection' },
  {
    key: 'kms-persistent',
    agent: 'kms',
    label: 'kms-agent, persistent connections (1 in flight each)',
  },
  {
    key: 'kms-pipe',
    agent: 'kms',
    label: `kms-agent, pipelined (${P.pipeDepth} in flight per connection)`,
  },
];

/** One cell's load for a mode at `c` clients, against the run's agents. */
export function loadRunner({ P, tools, kms, oidc }) {
  const window = [P.warmupMs, P.windowMs];
  return (mode, c) => {
    if (mode.key === 'oidc-conn') {
      const request = oidcTokenRequest('bench', 60);
      return withServerCpu(oidc.pids, () => tools.oneShot(oidc.socket, 'oidc', request, c, window));
    }
    if (mode.key === 'kms-conn') {
      const request = tokenRequest('main');
      return withServerCpu([kms.pid], () => tools.oneShot(kms.socket, 'kms', request, c, window));
    }
    const spec = {
      agent: 'kms',
      socket: kms.socket,
      mode: 'pipe',
      concurrency: c,
      depth: mode.key === 'kms-pipe' ? P.pipeDepth : 1,
      warmupMs: P.warmupMs,
      durationMs: P.windowMs,
    };
    return withServerCpu([kms.pid], () => tools.pipelined(spec));
  };
}

/** Every mode at every concurrency, `P.reps` times, modes interleaved within a repetition. */
export async function measureThroughput(ctx) {
  const { P, say, quiet } = ctx;
  const modes = throughputModes(P);
  const loadRun = loadRunner(ctx);
  const throughput = {};
  const accounting = startAccounting(quiet.ourPids());
  for (const c of P.concurrency) {
    for (const mode of modes) throughput[`${mode.key}@${c}`] = [];
    for (let rep = 0; rep < P.reps; rep++) {
      await quiet.waitQuiet(`c=${c}`);
      for (const mode of modes) {
        const r = await quiet.undisturbed(`${mode.key} c=${c}`, () => loadRun(mode, c));
        if (r.errors) say(`${mode.key} c=${c}: ${r.errors} errors (${r.firstError})`);
        throughput[`${mode.key}@${c}`].push(r);
      }
    }
    const m = (k) => cellMedian(throughput, k, c).toFixed(0);
    say(
      `c=${c}: oidc ${m('oidc-conn')}/s, kms per-conn ${m('kms-conn')}/s, ` +
        `persistent ${m('kms-persistent')}/s, pipelined ${m('kms-pipe')}/s`,
    );
  }
  return { throughput, cpuUse: accounting.stop() };
}
