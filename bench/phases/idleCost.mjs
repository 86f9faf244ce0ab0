// What each agent costs while nothing asks it for anything, right after login: RSS, CPU (the
// per-thread schedstat sums and the /proc/PID/stat ticks) and wake-ups (voluntary context
// switches), over a window with no request.
import { snapshot } from '../lib/procstat.mjs';
import { sleep } from '../lib/processControl.mjs';

export async function measureIdleCost({ P, say, kms, oidc }) {
  say(`idle cost: ${P.idleMs / 1000} s with no requests`);
  const pids = { kms: () => [kms.pid], oidc: () => oidc.pids };
  await sleep(1000);
  const before = { kms: snapshot(pids.kms()), oidc: snapshot(pids.oidc()) };
  await sleep(P.idleMs);
  const after = { kms: snapshot(pids.kms()), oidc: snapshot(pids.oidc()) };
  const idle = {};
  for (const agent of ['kms', 'oidc']) {
    const a = before[agent];
    const b = after[agent];
    const wallS = (b.at - a.at) / 1000;
    idle[agent] = {
      rssMiB: b.rssMiB,
      cpuPct: (100 * (b.cpuNs - a.cpuNs)) / 1e9 / wallS,
      cpuTicksSeconds: b.cpuSeconds - a.cpuSeconds,
      wakeupsPerSec: (b.wakeups - a.wakeups) / wallS,
      windowS: wallS,
      threads: b.threads,
      processes: pids[agent]().length,
    };
  }
  return idle;
}
