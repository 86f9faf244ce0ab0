// Where the daemon's time goes under one-request-per-connection load (a diagnosis, run when the
// throughput target is missed or BENCH_DIAGNOSE=1): syscalls per request of both agents, the
// daemon's CPU by thread, and a CPU profile of the daemon restarted under `node --cpu-prof`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { oidcTokenRequest, tokenRequest } from '../lib/agentRpc.mjs';
import { profilesIn, summarise } from '../lib/cpuprofile.mjs';
import { restartUnder } from '../lib/daemonProcess.mjs';
import { threadCpu } from '../lib/procstat.mjs';
import { syscallsPerRequest } from './syscallCounts.mjs';

/** User and system CPU of the daemon's main thread and of its other threads, per wall second. */
async function cpuByThread({ P, tools, kms }) {
  const before = threadCpu(kms.pid);
  const load = await tools.oneShot(kms.socket, 'kms', tokenRequest('main'), 8, [0, P.windowMs]);
  const after = threadCpu(kms.pid);
  const wall = load.elapsedMs / 1000;
  const share = (part) => ({
    user: (after[part].user - before[part].user) / wall,
    sys: (after[part].sys - before[part].sys) / wall,
  });
  return { load, mainThread: share('main'), otherThreads: share('others') };
}

export async function profileDaemon(ctx) {
  const { dir, say, tools, kms, oidc, cleanups } = ctx;
  say('profile: kms-agent daemon under one-request-per-connection load (node --cpu-prof)');
  const kmsRequest = tokenRequest('main');
  const syscalls = {
    kms: await syscallsPerRequest(dir, [kms.pid], () =>
      tools.oneShot(kms.socket, 'kms', kmsRequest, 8, ['count=5000']),
    ),
    oidc: await syscallsPerRequest(dir, oidc.pids, () =>
      tools.oneShot(oidc.socket, 'oidc', oidcTokenRequest('bench', 60), 8, ['count=5000']),
    ),
  };
  const threads = await cpuByThread(ctx);
  const profDir = join(dir, 'daemon-profile');
  mkdirSync(profDir);
  const flags = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '250'];
  const logFile = join(dir, 'profiled-daemon.log');
  const profiled = await restartUnder(kms, { flags, logFile, cleanups });
  // Warm-up and the first refresh, then the measured load.
  await tools.oneShot(kms.socket, 'kms', kmsRequest, 8, ['count=20000']);
  const load = await tools.oneShot(kms.socket, 'kms', kmsRequest, 8, [0, 3000]);
  await profiled.restore();
  const daemon = {
    ...summarise(profilesIn(profDir)),
    load,
    mainThread: threads.mainThread,
    otherThreads: threads.otherThreads,
    unprofiledTokensPerSec: threads.load.tokensPerSec,
  };
  return { daemon, syscalls };
}
