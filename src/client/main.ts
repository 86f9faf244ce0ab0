#!/usr/bin/env node
/**
 * The `kms-agent` executable. `token` — what scripts call over and over — takes a fast path that
 * loads only the socket client; every other command loads the full commander CLI on demand.
 */
import { runTokenCommand } from './tokenCommand.js';

// `kms-agent … | head` closing the pipe early is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const args = process.argv.slice(2);
const wantsHelp = args.includes('--help') || args.includes('-h');

if (args[0] === 'token' && !wantsHelp) {
  process.exitCode = await runTokenCommand(args.slice(1));
} else {
  const { runCli } = await import('./cli.js');
  process.exitCode = await runCli(process.argv);
}
