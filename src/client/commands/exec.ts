import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Option, type Command } from 'commander';
import type { TokenReply } from '../../rpc/methods.js';
import { SELECTION_FLAGS, tokenOptions, usage, type FlagValues } from '../commandLine.cjs';
import { TOKEN_TIMEOUT_MS } from '../tokenFastPath.cjs';
import type { CliContext } from './context.js';

export function registerExec(program: Command, cli: CliContext): void {
  const command = program.command('exec').description('run a command with a fresh token in its environment; exits with its exit code');
  for (const { flags, description } of Object.values(SELECTION_FLAGS)) command.addOption(new Option(flags, description));
  command
    .option('--env <name>', 'environment variable that receives the token', 'KMS_ACCESS_TOKEN')
    .usage('[options] -- <command...>')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(
      cli.run(async (argv: string[], opts: FlagValues & { env: string }) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.env)) throw usage(`--env: "${opts.env}" is not a valid variable name`);
        const { params } = tokenOptions(opts);
        const reply = await cli.withAgent((c) => c.call('token.get', params, TOKEN_TIMEOUT_MS));
        return execWithToken(argv, opts.env, reply);
      }),
    );
}

/**
 * Runs CMD with the token in its environment (never on a command line, where `ps` would show it)
 * and returns CMD's exit code, 128+N when a signal ended it, as shells report it.
 */
function execWithToken(command: string[], envName: string, reply: TokenReply): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, [envName]: reply.token },
    });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`kms-agent: cannot run ${command[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
