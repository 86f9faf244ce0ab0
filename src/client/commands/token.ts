import type { Command } from 'commander';
import { TOKEN_FLAGS } from '../commandLine.js';
import { runToken } from '../tokenFastPath.js';
import type { CliContext } from './context.js';
import { registerFastCommand } from './fastCommand.js';

const TOKEN_HELP = `
Which token: the profile's "token" setting (default auto: the id_token when the provider
issued one, else the access token — what the Cosmian KMS verifies); --id / --access override it.

Examples:
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1   # token not in ps
  kms-agent token --profile entra --json`;

/** `token` here only has its help: fastCommands.ts runs every other `token` command line through tokenFastPath.ts. */
export function registerToken(program: Command, cli: CliContext): void {
  registerFastCommand(program, cli, {
    name: 'token',
    description: 'print one fresh token and a newline on stdout, nothing else',
    flags: TOKEN_FLAGS,
    help: TOKEN_HELP,
    run: runToken,
  });
}
