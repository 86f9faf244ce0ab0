import { Option, type Command } from 'commander';
import { TOKEN_FLAGS } from '../commandLine.cjs';
import { runToken } from '../tokenFastPath.cjs';
import type { CliContext } from './context.js';

const TOKEN_HELP = `
Which token: the profile's "token" setting (default auto: the id_token when the provider
issued one, else the access token — what the Cosmian KMS verifies); --id / --access override it.

Examples:
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1   # token not in ps
  kms-agent token --profile entra --json

Exit codes: 0 ok, 2 no agent (after autostart failed), 5 login required,
6 provider unreachable and no valid token cached, 1 other.`;

/**
 * `token` here only has its help: bin.cts runs every other `token` command line through
 * tokenFastPath.cts. Its options are declared for the help text; were this action ever reached,
 * it hands the raw command line to that same parser, so no second parser decides what `token` accepts.
 */
export function registerToken(program: Command, cli: CliContext): void {
  const command = program
    .command('token')
    .description('print one fresh token and a newline on stdout, nothing else')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', TOKEN_HELP);
  for (const { flags, description } of Object.values(TOKEN_FLAGS)) command.addOption(new Option(flags, description));
  command.action(
    () =>
      new Promise<void>((resolve) =>
        runToken(cli.argv.slice(2), (exitCode) => {
          cli.exitCode = exitCode;
          resolve();
        }),
      ),
  );
}
