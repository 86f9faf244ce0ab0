// Node's own floor for an idle daemon (issue 15), measured side by side in one run: a bare `node`
// holding a listening Unix socket (bench/probes/bare-server.cjs, one process) against kms-agent
// with its file store and with its keychain store, each logged in, after serving some tokens and
// 10 s idle. Memory from /proc/PID/smaps_rollup, threads from /proc/PID/task, wake-ups from the
// voluntary context switches of every thread, start-up from spawn to the first answer.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ROOT, CLI, sleep, setupKms, stopPid } from './agents.mjs';
import { alive } from './procstat.mjs';
import { median } from './stats.mjs';
import { residentProfile } from './residentPages.mjs';
import { profilesIn, summarise } from './cpuprofile.mjs';

const BARE = join(ROOT, 'bench', 'probes', 'bare-server.cjs');
const DAEMON = join(ROOT, 'dist', 'daemon', 'daemon.cjs');

/**
 * What the bench recommends for the daemon's spawn (src/client/daemonLauncher.ts) and the service
 * units (systemd/, launchd/); measured here next to the daemon as the launcher starts it today.
 */
export const RECOMMENDED = {
  // One V8 helper thread instead of four, two libuv pool threads instead of four (one hung DNS
  // lookup still leaves one for the file store): 6 threads instead of 11, less than a bare node.
  flags: ['--v8-pool-size=1'],
  env: { UV_THREADPOOL_SIZE: '2' },
};

/** RSS and its parts (MiB), threads, and the voluntary context switches of each thread (by tid). */
export function footprint(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  const tids = readdirSync(`/proc/${pid}/task`);
  const switches = new Map();
  for (const tid of tids) {
    try {
      switches.set(tid, Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0));
    } catch {
      // A thread that ended between readdir and read.
    }
  }
  return {
    at: performance.now(),
    rssMiB: kib(rollup, 'Rss'),
    pssMiB: kib(rollup, 'Pss'),
    anonMiB: kib(status, 'RssAnon'),
    fileMiB: kib(status, 'RssFile'),
    threads: tids.length,
    switches,
  };
}

/**
 * Wake-ups per second between two footprints: each thread's voluntary context switches, counted
 * from 0 for a thread born in between; a thread that ended in between counts up to the first.
 */
export function wakeupsPerSecond(a, b) {
  let sum = 0;
  for (const [tid, n] of b.switches) sum += n - (a.switches.get(tid) ?? 0);
  return (sum * 1000) / (b.at - a.at);
}

/** Sends lines on one connection, one at a time, and resolves when each got its answer line. */
export function ask(socketPath, lines) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const answers = [];
    let pending = '';
    let next = 0;
    const send = () => socket.write(lines[next++]);
    socket.setEncoding('utf8');
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        answers.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (next < lines.length) send();
        else {
          socket.destroy();
          return resolve(answers);
        }
      }
    });
    socket.on('error', reject);
  });
}

const STATUS = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'agent.status', params: {} }) + '\n';
const TOKEN = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'token.get', params: {} }) + '\n';

/**
 * The bare server: spawned, and ready once it printed "listening". `env` is the agent's: the same
 * clean environment (an inherited NODE_EXTRA_CA_CERTS alone adds ~30 ms and ~2 MiB to a Node start).
 */
async function startBare(socket, env) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BARE, socket, '150'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('bench/probes/bare-server.cjs exited')));
  });
  child.removeAllListeners('exit');
  child.stdout.destroy();
  return { pid: child.pid, readyMs: performance.now() - t0, stop: () => stopPid(child.pid) };
}

/** The daemon as the launcher starts it (node FLAGS dist/daemon/daemon.cjs), ready once it reports on fd 3. */
export async function startDaemon(kms, { flags = [], env = {}, logFile }) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...flags, DAEMON, '--socket', kms.socket, '--config', kms.configPath, '--log-file', logFile], {
    env: { ...kms.env, ...env },
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const report = await new Promise((resolve) => {
    let text = '';
    child.stdio[3].setEncoding('utf8');
    child.stdio[3].on('data', (chunk) => {
      text += chunk;
      if (/^(ready|running|error)/m.test(text)) resolve(text.trim().split('\n').pop());
    });
    child.stdio[3].on('end', () => resolve(text.trim() || 'exited'));
  });
  child.stdio[3].destroy();
  child.unref();
  if (!report.startsWith('ready')) throw new Error(`the daemon did not start: ${report}`);
  return { pid: child.pid, readyMs: performance.now() - t0 };
}

async function stopDaemon(pid) {
  await stopPid(pid);
  for (let i = 0; i < 200 && alive(pid); i++) await sleep(10);
}

/**
 * Start-up, interleaved so that every variant sees the same machine: spawn until the socket
 * answers one request (the bare server: any line; the daemon: agent.status), `rounds` times each.
 */
async function startupTimes({ dir, kms, rounds }) {
  const times = { bare: [], daemon: [], daemonRecommended: [], cli: [], cliOnly: [] };
  const bareSocket = join(dir, 'bare-start.sock');
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    const bare = await startBare(bareSocket, kms.env);
    await ask(bareSocket, [TOKEN]);
    times.bare.push(performance.now() - t);
    await bare.stop();

    for (const [key, options] of [['daemon', {}], ['daemonRecommended', RECOMMENDED]]) {
      t = performance.now();
      const daemon = await startDaemon(kms, { ...options, logFile: join(dir, `start-${key}.log`) });
      await ask(kms.socket, [STATUS]);
      times[key].push(performance.now() - t);
      await stopDaemon(daemon.pid);
    }

    t = performance.now();
    await kms.start();
    const started = performance.now();
    await ask(kms.socket, [STATUS]);
    times.cli.push(performance.now() - t);
    times.cliOnly.push(started - t);
    await kms.stop();
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { medianMs: median(v), runs: v }]));
}

/**
 * Where a daemon start goes: `rounds` starts as the launcher runs it, under `node --cpu-prof`, each
 * stopped once it has answered agent.status (the profile is written at exit); self time by
 * category and function, the idle time between the answer and the stop left out.
 */
async function startupProfile({ dir, kms, rounds }) {
  const profDir = join(dir, 'start-profiles');
  mkdirSync(profDir);
  for (let round = 0; round < rounds; round++) {
    const flags = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100', ...RECOMMENDED.flags];
    const daemon = await startDaemon(kms, { flags, env: RECOMMENDED.env, logFile: join(dir, 'start-profile.log') });
    await ask(kms.socket, [STATUS]);
    await stopDaemon(daemon.pid);
  }
  const summary = summarise(profilesIn(profDir));
  const idle = summary.categories.find((c) => c.name.startsWith('idle'))?.ms ?? 0;
  const busy = (list) => list.filter((c) => !c.name.startsWith('idle') && !c.name.startsWith('(idle)'));
  return { profiles: summary.profiles, busyMs: summary.totalMs - idle, categories: busy(summary.categories), functions: busy(summary.functions) };
}

/**
 * The whole comparison. `provider` is the bench's long-lived provider; `keyring` its private
 * Secret Service (null: the keychain rows are left out). Returns plain data for the report.
 */
export async function measureFloor({ dir, provider, redirectUrl, keyring, idleMs, startupRounds, say, cleanups }) {
  const base = join(dir, 'floor');
  mkdirSync(base);
  const variants = [
    { key: 'file', store: 'file', launch: 'cli' },
    { key: 'fileRecommended', store: 'file', launch: 'direct' },
    // Logged in, then restarted: the login is in the store, and no provider call has been made yet.
    { key: 'fileUnused', store: 'file', launch: 'cli', restart: true },
    ...(keyring
      ? [
          { key: 'keychain', store: 'keychain', launch: 'cli' },
          { key: 'keychainRecommended', store: 'keychain', launch: 'direct' },
        ]
      : []),
  ];
  const running = [];
  for (const v of variants) {
    const sandboxDir = join(base, v.key);
    mkdirSync(sandboxDir);
    const kms = await setupKms({ dir: sandboxDir, store: v.store, busAddress: keyring?.address, profiles: [{ name: 'main', issuer: provider.issuer, redirectUrl }] });
    let pid;
    if (v.launch === 'cli') {
      await kms.start();
      pid = kms.pid;
    } else {
      pid = (await startDaemon(kms, { ...RECOMMENDED, logFile: join(sandboxDir, 'agent.log') })).pid;
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
  const bareSocket = join(base, 'bare.sock');
  const bare = await startBare(bareSocket, running[0].kms.env);
  cleanups.push(bare.stop);
  say(`floor: bare node ${bare.pid}, agents ${running.map((r) => `${r.key} ${r.pid}`).join(', ')}; serving 200 requests each, then ${(4 * idleMs) / 1000} s idle`);

  // The same moment for all: 200 requests each (agent.status for the one that must not refresh), then nothing.
  await Promise.all([ask(bareSocket, Array(200).fill(TOKEN)), ...running.map((r) => ask(r.kms.socket, Array(200).fill(r.restart ? STATUS : TOKEN)))]);
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
  const perSecond = wakeupsPerSecond;
  const idle = {};
  for (const { key } of all) {
    const { rssMiB, pssMiB, anonMiB, fileMiB, threads } = at10[key];
    idle[key] = {
      rssMiB,
      pssMiB,
      anonMiB,
      fileMiB,
      threads,
      settledRssMiB: at30[key].rssMiB,
      threadsLater: at40[key].threads,
      burstWakeupsPerSec: perSecond(at0[key], at10[key]),
      settleWakeupsPerSec: perSecond(at10[key], at30[key]),
      idleWakeupsPerSec: perSecond(at30[key], at40[key]),
    };
  }

  for (const r of running) await stopDaemon(r.pid);
  await bare.stop();
  say(`floor: start-up, ${startupRounds} rounds of bare node, daemon, daemon with the recommended flags, kms-agent start`);
  const startup = await startupTimes({ dir: base, kms: running[0].kms, rounds: startupRounds });
  startup.profile = await startupProfile({ dir: base, kms: running[0].kms, rounds: startupRounds });
  return { recommended: RECOMMENDED, idleMs, idle, profiles, startup, cli: CLI };
}
