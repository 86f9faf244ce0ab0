import { Argument, Option, type Command } from 'commander';
import { loadConfig } from '../../../config/config.js';
import { usage } from '../../fast/commandLine.js';
import { bashScript, completionModel, fishScript, zshScript } from './completionScripts.js';
import { Exit } from '../../fast/exitCodes.js';
import type { CliContext } from '../../cliContext.js';

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript };

const HELP = `
  bash:  eval "$(kms-agent completion bash)"    in ~/.bashrc
  zsh:   eval "$(kms-agent completion zsh)"     in ~/.zshrc, after compinit
  fish:  kms-agent completion fish > ~/.config/fish/completions/kms-agent.fish

Profile names are completed from the config file (the one --config names on the line, else
$KMS_AGENT_CONFIG or ~/.config/kms-agent/config.toml): a TAB never starts an agent.`;

export function registerCompletion(program: Command, cli: CliContext): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('[shell]', 'the shell').choices(Object.keys(SHELLS)))
    .addOption(
      new Option(
        '--profiles',
        'print the profile names of the config, one a line (used by the scripts)',
      ).hideHelp(),
    )
    .addHelpText('after', HELP)
    .action(
      cli.run(async (shell: keyof typeof SHELLS | undefined, opts: { profiles?: boolean }) => {
        if (opts.profiles) {
          process.stdout.write(
            profileNames(cli.configPath())
              .map((name) => `${name}\n`)
              .join(''),
          );
          return Exit.OK;
        }
        if (!shell) throw usage('name a shell: kms-agent completion bash|zsh|fish');
        process.stdout.write(SHELLS[shell](completionModel(program)));
        return Exit.OK;
      }),
    );
}

/** The profiles the config defines (the Cosmian CLI's `ckms` included); nothing when it cannot be read. */
function profileNames(configPath: string | undefined): string[] {
  try {
    return [...loadConfig({ configPath }).profiles.keys()];
  } catch {
    return [];
  }
}
