/**
 * The commands that run without commander or ES modules: `kms-agent token`, which scripts call over
 * and over, the credential helpers kubectl and git run for every command (tokenFastPath.ts), and
 * `start`, which every new shell may run and service managers run in the foreground (startCommand.ts).
 * The build bundles this module and what it imports into dist/client/fastPath.bundle.cjs, which
 * bin.ts runs; every other command is the full CLI.
 */
import { fastCommandOf } from './commandLine.js';
import { runGitCredential } from './gitCredential.js';
import { runKubectlCredential } from './kubectlCredential.js';
import { runStart } from './startCommand.js';
import { runToken } from './tokenFastPath.js';

/** Runs `args` (argv after the script) if they name a fast command, and says whether they did; `done` gets the exit code. */
export function runFastCommand(args: readonly string[], done: (exitCode: number) => void): boolean {
  const command = args.includes('--help') || args.includes('-h') ? undefined : fastCommandOf(args);
  if (command === 'token') runToken(args, done);
  else if (command === 'kubectl-credential') runKubectlCredential(args, done);
  else if (command === 'git-credential') runGitCredential(args, done);
  else if (command === 'start') runStart(args, done);
  else return false;
  return true;
}
