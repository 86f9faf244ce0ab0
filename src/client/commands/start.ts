import { Option, type Command } from 'commander';
import { START_FLAGS } from '../commandLine.cjs';
import { runStart } from '../startCommand.cjs';
import type { CliContext } from './context.js';

/**
 * `start`: fastCommands.cts runs it without commander (startCommand.cts); here it has its help, and
 * were its action ever reached, it hands the raw command line to the same runner.
 */
export function registerStart(program: Command, cli: CliContext): void {
  const command = program
    .command('start')
    .description('start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"');
  for (const { flags, description } of Object.values(START_FLAGS)) command.addOption(new Option(flags, description));
  command.action(
    () =>
      new Promise<void>((resolve) =>
        runStart(cli.argv.slice(2), (exitCode) => {
          cli.exitCode = exitCode;
          resolve();
        }),
      ),
  );
}
