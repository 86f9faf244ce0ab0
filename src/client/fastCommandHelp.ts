import { Option, type Command } from 'commander';
import type { CliContext } from './cliContext.js';
import type { FastCommand } from './fast/commandLine.js';

/**
 * A fast command (fastCommands.ts) in the commander CLI: here it only has its help. Its options are
 * declared for the help text; were its action ever reached, it hands the raw command line to the
 * command's own runner, so no second parser decides what the command accepts.
 */
export function registerFastCommand(program: Command, cli: CliContext, spec: FastCommand): void {
  const command = program
    .command(spec.operands ? `${spec.name} ${spec.operands}` : spec.name)
    .description(spec.description)
    .allowUnknownOption()
    .allowExcessArguments();
  if (spec.help) command.addHelpText('after', spec.help);
  for (const { flags, description } of Object.values(spec.flags)) {
    command.addOption(new Option(flags, description));
  }
  command.action(
    () =>
      new Promise<void>((resolve) =>
        spec.run(cli.argv.slice(2), (exitCode) => {
          cli.exitCode = exitCode;
          resolve();
        }),
      ),
  );
}
