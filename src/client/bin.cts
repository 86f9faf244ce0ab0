#!/usr/bin/env node
/**
 * The `kms-agent` executable. CommonJS on purpose: `kms-agent token`, which scripts call over
 * and over, then starts without Node's ES module loader (tokenFastPath.cts); every other command
 * loads the full commander CLI, ES modules, on demand.
 */
import { isTokenCommand } from './commandLine.cjs';
import { runToken } from './tokenFastPath.cjs';

const args = process.argv.slice(2);
if (isTokenCommand(args) && !args.includes('--help') && !args.includes('-h')) {
  runToken(args, (exitCode) => (process.exitCode = exitCode));
} else {
  // `kms-agent … | head` closing the pipe early is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void import('./cli.js').then(async ({ runCli }) => {
    process.exitCode = await runCli(process.argv);
  });
}
