// Sensitivity to background load: the 8-client one-shot cells again while two idle-priority
// spinners keep both vCPUs out of their idle state. oidc-agent's request passes through 2
// processes (4 wake-ups per request); on a VM an idle vCPU is slow to wake, so its rate depends on
// what else runs.
import { spawn } from 'node:child_process';
import { stopPid } from '../lib/processControl.mjs';
import { loadRunner, throughputModes } from './socketThroughput.mjs';

export async function measureUnderSpinners(ctx) {
  const { P, say, cleanups } = ctx;
  say('sensitivity: 8 clients, one request per connection, with 2 nice-19 spinners running');
  const loop = ['sh', '-c', 'while :; do :; done'];
  const spin = () => spawn('nice', ['-n', '19', ...loop], { stdio: 'ignore' });
  const spinners = [spin(), spin()];
  const stopSpinners = () => Promise.all(spinners.map((sp) => stopPid(sp.pid)));
  cleanups.push(stopSpinners);
  const loadRun = loadRunner(ctx);
  const busy = { 'oidc-conn': [], 'kms-conn': [] };
  try {
    for (let rep = 0; rep < P.reps; rep++) {
      for (const mode of throughputModes(P).filter((m) => m.key in busy)) {
        busy[mode.key].push(await loadRun(mode, 8));
      }
    }
  } finally {
    await stopSpinners();
  }
  return busy;
}
