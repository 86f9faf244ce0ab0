// Starting a daemon directly, as the launcher does, without the CLI in between; and the bare Node
// server it is measured against (bench/probes/bare-server.cjs). The daemon's command line and its
// "ready" report on fd 3 are the launcher's interface with it (the paths are in buildEntries.mjs).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rpc } from './agentRpc.mjs';
import { ROOT } from './buildEntries.mjs';
import { alive } from './procstat.mjs';
import { sleep, stopPid } from './processControl.mjs';

const BARE = join(ROOT, 'bench', 'probes', 'bare-server.cjs');

/**
 * What the launcher passes to the daemon's spawn, and the service units too (systemd/, launchd/):
 * one V8 helper thread instead of four, two libuv pool threads instead of four (one hung DNS
 * lookup still leaves one for the file store): 6 threads instead of 11, less than a bare node.
 */
export const RECOMMENDED = {
  flags: ['--v8-pool-size=1'],
  env: { UV_THREADPOOL_SIZE: '2' },
};

/** node's arguments for the daemon of the sandbox `kms` (its build, socket and config). */
export const daemonArgs = (kms, logFile, flags = []) => [
  ...flags,
  kms.build.daemon,
  '--socket',
  kms.socket,
  '--config',
  kms.configPath,
  '--log-file',
  logFile,
];

/** The daemon as the launcher starts it, ready once it reports on fd 3. */
export async function startDaemon(kms, { flags = [], env = {}, logFile }) {
  const t0 = performance.now();
  const child = spawn(process.execPath, daemonArgs(kms, logFile, flags), {
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

export async function stopDaemon(pid) {
  await stopPid(pid);
  for (let i = 0; i < 200 && alive(pid); i++) await sleep(10);
}

/**
 * Restarts the sandbox's daemon under extra node flags (a profiler, --trace-gc): stops the one
 * `kms-agent start` launched, spawns `node FLAGS DAEMON …` (its login comes back from the store)
 * and waits for its socket. restore() shuts it down and starts the sandbox's agent again.
 */
export async function restartUnder(kms, { flags, logFile, cwd, pipeStdout = false, cleanups }) {
  await kms.stop();
  const daemon = spawn(process.execPath, daemonArgs(kms, logFile, flags), {
    env: kms.env,
    cwd,
    stdio: pipeStdout ? ['ignore', 'pipe', 'ignore'] : 'ignore',
    detached: true,
  });
  cleanups.push(() => stopPid(daemon.pid));
  for (let i = 0; i < 200 && !existsSync(kms.socket); i++) await sleep(25);
  return {
    child: daemon,
    async restore() {
      await rpc(kms.socket, 'agent.shutdown').catch(() => undefined);
      for (let i = 0; i < 200 && alive(daemon.pid); i++) await sleep(25);
      await kms.start();
    },
  };
}

/**
 * The bare server: spawned, and ready once it printed "listening". `env` is the agent's: the
 * same clean environment (an inherited NODE_EXTRA_CA_CERTS alone adds ~30 ms and ~2 MiB to a
 * Node start).
 */
export async function startBare(socket, env) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BARE, socket, '150'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('bench/probes/bare-server.cjs exited')));
  });
  child.removeAllListeners('exit');
  child.stdout.destroy();
  return { pid: child.pid, readyMs: performance.now() - t0, stop: () => stopPid(child.pid) };
}
