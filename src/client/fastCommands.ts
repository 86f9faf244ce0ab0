/**
 * The commands that run without commander or ES modules: `kms-agent token`, which scripts call over
 * and over, the credential helpers kubectl and git run for every command, and `start`, which every
 * new shell may run and service managers run in the foreground. The one registry of them: each
 * entry is a command module's FastCommand (its flags, operands, help and runner). The build
 * bundles this module and what it imports into dist/client/fastPath.bundle.cjs, which bin.ts
 * runs; every other command line is the full CLI's (cli.ts), which shows these commands' help.
 */
import { gitCredentialCommand } from './commands/gitCredential/gitCredential.js';
import { kubectlCredentialCommand } from './commands/kubectlCredential/kubectlCredential.js';
import { startCommand } from './commands/start/start.js';
import { tokenCommand } from './commands/token/token.js';
import { fastCommandOf, type FastCommand } from './fast/commandLine.js';

export const FAST_COMMANDS: readonly FastCommand[] = [
  startCommand,
  tokenCommand,
  kubectlCredentialCommand,
  gitCredentialCommand,
];

/**
 * Runs `args` (argv after the script) if they name a fast command, and says whether they did;
 * `done` gets the exit code. A request for help is the full CLI's.
 */
export function runFastCommand(args: readonly string[], done: (exitCode: number) => void): boolean {
  const help = args.includes('--help') || args.includes('-h');
  const command = help ? undefined : fastCommandOf(args, FAST_COMMANDS);
  command?.run(args, done);
  return command !== undefined;
}
