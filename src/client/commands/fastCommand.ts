import { Option, type Command } from 'commander';
import type { FastCommand, FlagSpec } from '../commandLine.js';
import type { CliContext } from './context.js';

export interface FastCommandSpec {
  name: FastCommand;
  arguments?: string;
  description: string;
  flags: Record<string, FlagSpec>;
  /** Text after the options in `--help`. */
  help?: string;
  /** The command's own runner on the fast path (fastCommands.ts). */
  run: (args: readonly string[], done: (exitCode: number) => void) => void;
}

/**
 * A command fastCommands.ts runs without commander: here it only has its help. Its options are declared for
 * the help text; were its action ever reached, it hands the raw command line to the fast path's
 * own parser, so no second parser decides what the command accepts.
 */
export function registerFastCommand(program: Command, cli: CliContext, spec: FastCommandSpec): void {
  const command = program
    .command(spec.arguments ? `${spec.name} ${spec.arguments}` : spec.name)
    .description(spec.description)
    .allowUnknownOption()
    .allowExcessArguments();
  if (spec.help) command.addHelpText('after', spec.help);
  for (const { flags, description } of Object.values(spec.flags)) command.addOption(new Option(flags, description));
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
