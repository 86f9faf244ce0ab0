#!/usr/bin/env node
/**
 * The detached daemon process started by `kms-agent start` (and by autostart). It reports
 * readiness, or the reason it could not start, on file descriptor 3, then lives on its own.
 * It claims the socket path before it loads the rest of the agent: when many clients autostart
 * at once, the daemons that lose the race report `running` and exit, having loaded (and logged) nothing.
 */
import { writeSync, closeSync } from 'node:fs';
import { AgentAlreadyRunningError } from './socketDirectory.js';
import { claimSocketPath, type SocketClaim } from './startLock.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const READY_FD = 3;
function report(line: string): void {
  try {
    writeSync(READY_FD, line + '\n');
    closeSync(READY_FD);
  } catch {
    // The starter is gone; nobody to tell.
  }
}

function fail(err: unknown): never {
  if (err instanceof AgentAlreadyRunningError) {
    report('running');
    process.exit(0);
  }
  report(`error ${(err as Error).message}`);
  process.exit(1);
}

const socketPath = arg('--socket');
if (!socketPath) {
  process.stderr.write('kms-agent daemon: --socket is required\n');
  process.exit(1);
}

let claim: SocketClaim;
try {
  claim = await claimSocketPath(socketPath);
} catch (err) {
  fail(err);
}

try {
  const { runDaemon } = await import('./run.js');
  await runDaemon({
    socketPath,
    configPath: arg('--config'),
    logFile: arg('--log-file'),
    claim,
    // Warnings (e.g. a client_secret in a file others can read) go first, so `start` can show them.
    onReady: ({ pid, warnings }) => report([...warnings.map((w) => `warning ${w}`), `ready ${pid}`].join('\n')),
  });
  process.exit(0);
} catch (err) {
  fail(err);
}
