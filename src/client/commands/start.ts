import type { Command } from 'commander';
import { START_FLAGS } from '../commandLine.js';
import { runStart } from '../startCommand.js';
import type { CliContext } from './context.js';
import { registerFastCommand } from './fastCommand.js';

/** `start`: fastCommands.ts runs it without commander (startCommand.ts), `--foreground` too. */
export function registerStart(program: Command, cli: CliContext): void {
  registerFastCommand(program, cli, {
    name: 'start',
    description: 'start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"',
    flags: START_FLAGS,
    run: runStart,
  });
}
