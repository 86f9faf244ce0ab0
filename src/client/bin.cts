#!/usr/bin/env node
/**
 * The `kms-agent` executable. CommonJS on purpose: `kms-agent token`, which scripts call over
 * and over, and the credential helpers kubectl and git run for every command, then start without
 * Node's ES module loader (tokenFastPath.cts); every other command loads the full commander CLI,
 * ES modules, on demand.
 */
import { fastCommandOf } from './commandLine.cjs';
import { runToken } from './tokenFastPath.cjs';

const args = process.argv.slice(2);
const done = (exitCode: number): void => void (process.exitCode = exitCode);
const command = args.includes('--help') || args.includes('-h') ? undefined : fastCommandOf(args);
if (command === 'token') {
  runToken(args, done);
} else if (command === 'kubectl-credential') {
  (require('./kubectlCredential.cjs') as typeof import('./kubectlCredential.cjs')).runKubectlCredential(args, done);
} else if (command === 'git-credential') {
  (require('./gitCredential.cjs') as typeof import('./gitCredential.cjs')).runGitCredential(args, done);
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
