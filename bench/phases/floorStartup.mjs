// Start-up against Node's own floor (issue 15): a bare Node server, the daemon started directly
// (as the launcher does, with and without its flags) and `kms-agent start`, each from spawn until
// the socket answers one request; and a CPU profile of where a daemon start goes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ask, STATUS_LINE, TOKEN_LINE } from '../lib/agentRpc.mjs';
import { profilesIn, summarise } from '../lib/cpuprofile.mjs';
import { RECOMMENDED, startBare, startDaemon, stopDaemon } from '../lib/daemonProcess.mjs';
import { median } from '../lib/stats.mjs';

/**
 * Interleaved so that every variant sees the same machine: spawn until the socket answers one
 * request (the bare server: any line; the daemon: agent.status), `rounds` times each. `kms` is a
 * sandbox whose daemon is not running.
 */
export async function startupTimes({ dir, kms, rounds }) {
  const times = { bare: [], daemon: [], daemonRecommended: [], cli: [], cliOnly: [] };
  const bareSocket = join(dir, 'bare-start.sock');
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    const bare = await startBare(bareSocket, kms.env);
    await ask(bareSocket, [TOKEN_LINE]);
    times.bare.push(performance.now() - t);
    await bare.stop();

    for (const [key, options] of [
      ['daemon', {}],
      ['daemonRecommended', RECOMMENDED],
    ]) {
      t = performance.now();
      const logFile = join(dir, `start-${key}.log`);
      const daemon = await startDaemon(kms, { ...options, logFile });
      await ask(kms.socket, [STATUS_LINE]);
      times[key].push(performance.now() - t);
      await stopDaemon(daemon.pid);
    }

    t = performance.now();
    await kms.start();
    const started = performance.now();
    await ask(kms.socket, [STATUS_LINE]);
    times.cli.push(performance.now() - t);
    times.cliOnly.push(started - t);
    await kms.stop();
  }
  const summary = ([k, v]) => [k, { medianMs: median(v), runs: v }];
  return Object.fromEntries(Object.entries(times).map(summary));
}

/**
 * Where a daemon start goes: `rounds` starts as the launcher runs it, under `node --cpu-prof`,
 * each stopped once it has answered agent.status (the profile is written at exit); self time by
 * category and function, the idle time between the answer and the stop left out.
 */
export async function startupProfile({ dir, kms, rounds }) {
  const profDir = join(dir, 'start-profiles');
  mkdirSync(profDir);
  const profiler = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100'];
  for (let round = 0; round < rounds; round++) {
    const flags = [...profiler, ...RECOMMENDED.flags];
    const logFile = join(dir, 'start-profile.log');
    const daemon = await startDaemon(kms, { flags, env: RECOMMENDED.env, logFile });
    await ask(kms.socket, [STATUS_LINE]);
    await stopDaemon(daemon.pid);
  }
  const summary = summarise(profilesIn(profDir));
  const idle = summary.categories.find((c) => c.name.startsWith('idle'))?.ms ?? 0;
  const isBusy = (c) => !c.name.startsWith('idle') && !c.name.startsWith('(idle)');
  return {
    profiles: summary.profiles,
    busyMs: summary.totalMs - idle,
    categories: summary.categories.filter(isBusy),
    functions: summary.functions.filter(isBusy),
  };
}
