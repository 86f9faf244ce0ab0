#!/usr/bin/env node
/**
 * The detached daemon process started by `kms-agent start` (and by autostart). It reports
 * readiness, or the reason it could not start, on file descriptor 3, then lives on its own.
 */
import { writeSync, closeSync } from 'node:fs';
import { runDaemon } from './run.js';
import { AgentAlreadyRunningError } from './socketDirectory.js';

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

const socketPath = arg('--socket');
if (!socketPath) {
  process.stderr.write('kms-agent daemon: --socket is required\n');
  process.exit(1);
}

try {
  await runDaemon({
    socketPath,
    configPath: arg('--config'),
    logFile: arg('--log-file'),
    // Warnings (e.g. a client_secret in a file others can read) go first, so `start` can show them.
    onReady: ({ pid, warnings }) => report([...warnings.map((w) => `warning ${w}`), `ready ${pid}`].join('\n')),
  });
  process.exit(0);
} catch (err) {
  report(err instanceof AgentAlreadyRunningError ? 'running' : `error ${(err as Error).message}`);
  process.exit(1);
}
