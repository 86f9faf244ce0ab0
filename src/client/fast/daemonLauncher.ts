/**
 * Starts the daemon for `kms-agent start` and for autostart. Loaded only when no agent answers.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DAEMON_PROGRAM } from '../../os/packageFiles.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { resolveStateDir } from '../../os/xdgPaths.js';

/** A daemon that has not bound its socket by then is reported as failed. */
const START_TIMEOUT_MS = 15_000;

/** `running`: an agent listens on the socket asked for; `elsewhere`: the user's runs on another. */
export type LaunchOutcome =
  | { state: 'started'; pid: number }
  | { state: 'running' }
  | { state: 'elsewhere'; pid: number; socket: string };

/**
 * Starts the daemon as a detached process (its own session, stdin closed, output to agent.log)
 * and waits for it to report on fd 3 that it listens, that another one does (several clients
 * autostarted at once and daemon/agentLock.ts let one win: on this socket, or `elsewhere` when the
 * user's agent holds the lock with another one), or why it could not start.
 */
export async function launchDaemon(options: {
  socketPath: string;
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
}): Promise<LaunchOutcome> {
  const env = options.env ?? process.env;
  const stateDir = resolveStateDir(env);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logFile = join(stateDir, 'agent.log');
  // Uncaught crashes land in the log too; the descriptor is the daemon's from here on.
  const logFd = openSync(logFile, 'a', 0o600);
  // One V8 helper thread instead of four: an idle agent needs no parallel compiler (bench/RESULTS.md).
  const args = [
    '--v8-pool-size=1',
    DAEMON_PROGRAM,
    '--socket',
    options.socketPath,
    '--log-file',
    logFile,
  ];
  if (options.configPath) args.push('--config', options.configPath);
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    // Two libuv pool threads instead of four: a hung DNS lookup still leaves one for the file store.
    env: { UV_THREADPOOL_SIZE: '2', ...env },
    cwd: '/',
  });
  closeSync(logFd);
  const lines = await readReport(child.stdio[3] as Readable, () => child.exitCode);
  child.unref();
  (child.stdio[3] as Readable).destroy();
  const report = lines[lines.length - 1]!;
  // The daemon's start-up warnings (e.g. a client_secret in a file others can read) reach the user here.
  for (const line of lines)
    if (line.startsWith('warning ')) process.stderr.write(`kms-agent: warning: ${line.slice(8)}\n`);
  if (report.startsWith('ready ')) return { state: 'started', pid: Number(report.slice(6)) };
  if (report === 'running') return { state: 'running' };
  const elsewhere = /^elsewhere (\d+) (.+)$/.exec(report);
  if (elsewhere) return { state: 'elsewhere', pid: Number(elsewhere[1]), socket: elsewhere[2]! };
  const detail = report.startsWith('error ')
    ? report.slice(6)
    : `the agent did not start (${report}); see ${logFile}`;
  throw new AgentError('AGENT_START_FAILED', `could not start the agent: ${detail}`);
}

/**
 * The daemon's report lines: any `warning …` lines, then one `ready PID`, `running`,
 * `elsewhere PID SOCKET` or `error …`.
 */
function readReport(stream: Readable, exitCode: () => number | null): Promise<string[]> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(['timed out']), START_TIMEOUT_MS);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      const lines = text.split('\n');
      const last = lines.slice(0, -1).findIndex((line) => !line.startsWith('warning '));
      if (last !== -1) {
        clearTimeout(timer);
        resolve(lines.slice(0, last + 1));
      }
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve([text.trim() || `it exited with code ${exitCode() ?? 'unknown'}`]);
    });
  });
}
