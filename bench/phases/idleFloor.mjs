// Node's own floor for an idle daemon (issue 15), measured side by side in one run: a bare `node`
// holding a listening Unix socket (bench/probes/bare-server.cjs, one process) against kms-agent
// with its file store and with its keychain store, each logged in, after serving some tokens and
// 10 s idle. Memory from /proc/PID/smaps_rollup, threads from /proc/PID/task, wake-ups from the
// voluntary context switches of every thread; start-up in floorStartup.mjs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ask, STATUS_LINE, TOKEN_LINE } from '../lib/agentRpc.mjs';
import { RECOMMENDED, startBare, startDaemon, stopDaemon } from '../lib/daemonProcess.mjs';
import { footprint, wakeupsPerSecond } from '../lib/footprint.mjs';
import { setupKms } from '../lib/kmsSandbox.mjs';
import { sleep } from '../lib/processControl.mjs';
import { residentProfile } from '../lib/residentPages.mjs';
import { startupProfile, startupTimes } from './floorStartup.mjs';

/** The agents compared with the bare process; the keychain ones only with a private keyring. */
function variantsOf(keyring) {
  return [
    { key: 'file', store: 'file', launch: 'cli' },
    { key: 'fileRecommended', store: 'file', launch: 'direct' },
    // Logged in, then restarted: the login is in the store, and no provider call made yet.
    { key: 'fileUnused', store: 'file', launch: 'cli', restart: true },
    ...(keyring
      ? [
          { key: 'keychain', store: 'keychain', launch: 'cli' },
          { key: 'keychainRecommended', store: 'keychain', launch: 'direct' },
        ]
      : []),
  ];
}

/** One logged-in agent per variant, started as the variant says; returns them with their pids. */
async function startVariants({ base, provider, redirectUrl, keyring, cleanups }) {
  const running = [];
  for (const v of variantsOf(keyring)) {
    const sandboxDir = join(base, v.key);
    mkdirSync(sandboxDir);
    const profiles = [{ name: 'main', issuer: provider.issuer, redirectUrl }];
    const busAddress = keyring?.address;
    const kms = await setupKms({ dir: sandboxDir, store: v.store, busAddress, profiles });
    let pid;
    if (v.launch === 'cli') {
      await kms.start();
      pid = kms.pid;
    } else {
      const logFile = join(sandboxDir, 'agent.log');
      pid = (await startDaemon(kms, { ...RECOMMENDED, logFile })).pid;
    }
    cleanups.push(() => stopDaemon(pid));
    await kms.login('main');
    if (v.restart) {
      await kms.stop();
      await kms.start();
      pid = kms.pid;
      cleanups.push(() => stopDaemon(pid));
    }
    running.push({ ...v, kms, pid });
  }
  return running;
}

/** Each process's figures from the footprints at 0, 10, 30 and 40 s of idleness. */
function idleFigures(key, at0, at10, at30, at40) {
  const { rssMiB, pssMiB, anonMiB, fileMiB, threads } = at10[key];
  return {
    rssMiB,
    pssMiB,
    anonMiB,
    fileMiB,
    threads,
    settledRssMiB: at30[key].rssMiB,
    threadsLater: at40[key].threads,
    burstWakeupsPerSec: wakeupsPerSecond(at0[key], at10[key]),
    settleWakeupsPerSec: wakeupsPerSecond(at10[key], at30[key]),
    idleWakeupsPerSec: wakeupsPerSecond(at30[key], at40[key]),
  };
}

/**
 * The whole comparison. `provider` is the bench's long-lived provider; `keyring` its private
 * Secret Service (null: the keychain rows are left out). Returns plain data for the report.
 */
export async function measureFloor(options) {
  const { dir, provider, redirectUrl, keyring, idleMs, startupRounds, say, cleanups } = options;
  const base = join(dir, 'floor');
  mkdirSync(base);
  const running = await startVariants({ base, provider, redirectUrl, keyring, cleanups });
  const bareSocket = join(base, 'bare.sock');
  const bare = await startBare(bareSocket, running[0].kms.env);
  cleanups.push(bare.stop);
  const pids = running.map((r) => `${r.key} ${r.pid}`).join(', ');
  const then = `serving 200 requests each, then ${(4 * idleMs) / 1000} s idle`;
  say(`floor: bare node ${bare.pid}, agents ${pids}; ${then}`);

  // The same moment for all: 200 requests each (agent.status for the one that must not refresh),
  // then nothing.
  const lines = (r) => Array(200).fill(r.restart ? STATUS_LINE : TOKEN_LINE);
  await Promise.all([
    ask(bareSocket, Array(200).fill(TOKEN_LINE)),
    ...running.map((r) => ask(r.kms.socket, lines(r))),
  ]);
  const all = [{ key: 'bare', pid: bare.pid }, ...running];
  const snapshotAll = () => Object.fromEntries(all.map((r) => [r.key, footprint(r.pid)]));
  // V8's memory reducer shrinks the heap with a GC 8 s after allocation calms down, or 8 s later
  // when it was still busy then: at 10 s it may or may not have run. At 30 s it has.
  const at0 = snapshotAll();
  await sleep(idleMs);
  const at10 = snapshotAll();
  await sleep(2 * idleMs);
  const at30 = snapshotAll();
  const profiles = {};
  for (const r of all.filter((x) => ['bare', 'file', 'keychain'].includes(x.key))) {
    profiles[r.key] = await residentProfile(r.pid).catch((err) => ({ error: err.message }));
  }
  await sleep(idleMs - (performance.now() - at30.bare.at));
  const at40 = snapshotAll();
  const idle = {};
  for (const { key } of all) idle[key] = idleFigures(key, at0, at10, at30, at40);

  for (const r of running) await stopDaemon(r.pid);
  await bare.stop();
  const what = 'bare node, daemon, daemon with the recommended flags, kms-agent start';
  say(`floor: start-up, ${startupRounds} rounds of ${what}`);
  const startupOptions = { dir: base, kms: running[0].kms, rounds: startupRounds };
  const startup = await startupTimes(startupOptions);
  startup.profile = await startupProfile(startupOptions);
  return { recommended: RECOMMENDED, idleMs, idle, profiles, startup };
}
