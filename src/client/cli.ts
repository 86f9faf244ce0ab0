import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../rpc/version.js';
import { GLOBAL_FLAGS } from './commandLine.js';
import { registerAdd } from './commands/add.js';
import { registerCompletion } from './commands/completion.js';
import { registerDemo } from './commands/demo.js';
import { CliContext } from './commands/context.js';
import { registerExec } from './commands/exec.js';
import { registerGitCredential } from './commands/gitCredential.js';
import { registerInstallService } from './commands/installService.js';
import { registerKubectlCredential } from './commands/kubectlCredential.js';
import { registerLogin } from './commands/login.js';
import { registerLogout } from './commands/logout.js';
import { registerProfiles } from './commands/profiles.js';
import { registerReload } from './commands/reload.js';
import { registerRemove } from './commands/remove.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';
import { registerStop } from './commands/stop.js';
import { registerToken } from './commands/token.js';
import { registerWhoami } from './commands/whoami.js';
import { exitCodesHelp } from './commandExits.js';
import { Exit, reportError } from './exitCodes.js';

const HELP_FOOTER = `
Typical use:
  kms-agent add work --issuer https://idp.example.com --client-id ID   write a profile, checked at the provider
  kms-agent login                    log in once (the browser, or the device flow where none can open)
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1
  kms-agent whoami                   who the tokens say you are

Exit codes: 0 ok, 1 error, 2 no agent, 3 login denied or failed, 4 login timed out,
5 login required, 6 provider unreachable and no valid token cached.
Environment: KMS_AGENT_SOCK, KMS_AGENT_CONFIG, KMS_AGENT_PROFILE, KMS_AGENT_NO_AUTOSTART=1,
KMS_AGENT_LOG_LEVEL, BROWSER.`;

/** The commands, in the order `--help` lists them; each module is one command. */
const COMMANDS = [
  registerStart,
  registerStop,
  registerStatus,
  registerLogin,
  registerLogout,
  registerToken,
  registerWhoami,
  registerExec,
  registerKubectlCredential,
  registerGitCredential,
  registerProfiles,
  registerAdd,
  registerRemove,
  registerReload,
  registerInstallService,
  registerDemo,
  registerCompletion,
];

/** The full command line (docs/cli.md). Returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('kms-agent')
    .description('Keeps you logged in to an OAuth 2.0 / OpenID Connect provider and hands fresh tokens to any local tool, like ssh-agent does for SSH keys.')
    .version(VERSION, '-V, --version');
  for (const { flags, description } of Object.values(GLOBAL_FLAGS)) program.addOption(new Option(flags, description));
  program.addHelpText('after', HELP_FOOTER).showSuggestionAfterError().exitOverride();
  const cli = new CliContext(program, argv);
  for (const register of COMMANDS) register(program, cli);
  for (const command of program.commands) {
    const exits = exitCodesHelp(command.name());
    if (exits) command.addHelpText('after', exits);
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? Exit.OK : Exit.ERROR;
    return reportError(err);
  }
  return cli.exitCode;
}
