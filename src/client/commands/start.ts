import type { Command } from 'commander';
import { START_FLAGS } from '../commandLine.cjs';
import { runStart } from '../startCommand.cjs';
import type { CliContext } from './context.js';
import { registerFastCommand } from './fastCommand.js';

/** `start`: fastCommands.cts runs it without commander (startCommand.cts), `--foreground` too. */
export function registerStart(program: Command, cli: CliContext): void {
  registerFastCommand(program, cli, {
    name: 'start',
    description: 'start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"',
    flags: START_FLAGS,
    run: runStart,
  });
}
