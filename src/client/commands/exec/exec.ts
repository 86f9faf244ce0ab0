import { Option, type Command } from 'commander';
import { runChild } from './childProcess.js';
import { GLOBAL_FLAGS, usage, type FlagValues } from '../../fast/commandLine.js';
import { SELECTION_FLAGS, tokenOptions } from '../../fast/tokenRequest.js';
import { TOKEN_TIMEOUT_MS } from '../../fast/askAgent.js';
import type { CliContext } from '../../cliContext.js';

const DEFAULT_ENV = 'KMS_ACCESS_TOKEN';

const EXEC_HELP = `
Examples:
  kms-agent exec -- terraform apply                   # token in $KMS_ACCESS_TOKEN
  kms-agent exec --env VAULT_TOKEN -- vault status
  kms-agent exec --ckms -- ckms sym keys create       # the Cosmian CLI, with a fresh token
  ckms() { kms-agent exec --ckms -- ckms "$@"; }      # so that \`ckms …\` always has one

--ckms: ckms 5.17 and later get the token in CLI_HEADER (nothing written anywhere); older ones
a private copy of their config with the token in it, removed when the command ends. The profile
is \`ckms\` when there is one. \`ckms login\`, \`logout\` and \`configure\` run untouched: they save
their config file, which must never receive the agent's token.`;

/**
 * The command a user typed before an option commander did not know (`exec sh -c …`): that option
 * was meant for the command, which needs `--` before it. Undefined when none came first.
 */
function commandBefore(argv: readonly string[], option: string): string | undefined {
  const args = argv.slice(argv.indexOf('exec') + 1);
  const flags = { ...GLOBAL_FLAGS, ...SELECTION_FLAGS, env: { flags: '--env <name>' } };
  const takesValue = Object.values(flags)
    .filter(({ flags }) => flags.includes('<'))
    .flatMap(({ flags }) => flags.split(' <')[0]!.split(', '));
  for (let i = 0; i < args.length && args[i] !== option; i++) {
    if (args[i] === '--') return undefined;
    if (takesValue.includes(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}

export function registerExec(program: Command, cli: CliContext): void {
  const command = program
    .command('exec')
    .description('run a command with a fresh token in its environment; exits with its exit code');
  command.configureOutput({
    outputError: (text, write) => {
      const option = /unknown option '([^']+)'/.exec(text)?.[1];
      const typed = option === undefined ? undefined : commandBefore(cli.argv, option);
      if (typed === undefined) return write(text);
      const how = `\`kms-agent exec -- ${typed} ${option} …\``;
      write(`${text.trimEnd()}: put -- before the command, so its options are its own: ${how}\n`);
    },
  });
  for (const { flags, description } of Object.values(SELECTION_FLAGS))
    command.addOption(new Option(flags, description));
  command
    .option(
      '--env <name>',
      `environment variable that receives the token (default: ${DEFAULT_ENV})`,
    )
    .option(
      '--ckms',
      'the command is the Cosmian CLI: give it the token where it reads one (default profile: ckms)',
    )
    .usage('[options] -- <command...>')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText('after', EXEC_HELP)
    .action(
      cli.run(async (argv: string[], opts: FlagValues) => {
        if (opts.ckms) {
          if (opts.env !== undefined)
            throw usage(
              '--env and --ckms cannot be used together: --ckms puts the token where ckms reads it',
            );
          // Loaded only here: it brings a TOML parser the other commands do not need.
          const { execCkms } = await import('./ckmsExec.js');
          return execCkms(cli, argv, opts);
        }
        const envName = typeof opts.env === 'string' ? opts.env : DEFAULT_ENV;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName))
          throw usage(`--env: "${envName}" is not a valid variable name`);
        const { params } = tokenOptions(opts);
        // On a delegated socket too (delegate -- CMD): only token.get is asked.
        const reply = await cli.withAgent((c) => c.call('token.get', params, TOKEN_TIMEOUT_MS), {
          whenRefused: 'continue',
        });
        // In the environment, never on a command line, where `ps` would show it.
        return runChild(argv, () => ({ ...process.env, [envName]: reply.token }));
      }),
    );
}
