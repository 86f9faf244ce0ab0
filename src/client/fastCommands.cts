/**
 * The commands that run without commander or ES modules: `kms-agent token`, which scripts call over
 * and over, the credential helpers kubectl and git run for every command (tokenFastPath.cts), and
 * `start`, which every new shell may run and service managers run in the foreground (startCommand.cts).
 * bin.cts runs this module from the fast-path bundle; every other command is the full CLI.
 */
import { fastCommandOf } from './commandLine.cjs';
import { runToken } from './tokenFastPath.cjs';

/** Runs `args` (argv after the script) if they name a fast command, and says whether they did; `done` gets the exit code. */
export function runFastCommand(args: readonly string[], done: (exitCode: number) => void): boolean {
  const command = args.includes('--help') || args.includes('-h') ? undefined : fastCommandOf(args);
  if (command === 'token') runToken(args, done);
  else if (command === 'kubectl-credential') (require('./kubectlCredential.cjs') as typeof import('./kubectlCredential.cjs')).runKubectlCredential(args, done);
  else if (command === 'git-credential') (require('./gitCredential.cjs') as typeof import('./gitCredential.cjs')).runGitCredential(args, done);
  else if (command === 'start') (require('./startCommand.cjs') as typeof import('./startCommand.cjs')).runStart(args, done);
  else return false;
  return true;
}
