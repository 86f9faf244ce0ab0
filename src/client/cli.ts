import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { CliContext } from './cliContext.js';
import { exitCodesHelp } from './commandExits.js';
import { registerAdd } from './commands/add/add.js';
import { registerAudit } from './commands/audit.js';
import { registerDelegate } from './commands/delegate/delegate.js';
import { registerLock } from './commands/lock/lock.js';
import { registerCompletion } from './commands/completion/completion.js';
import { registerDemo } from './commands/demo/demo.js';
import { registerExec } from './commands/exec/exec.js';
import { registerInstallService } from './commands/installService/installService.js';
import { registerLogin } from './commands/login/login.js';
import { registerLogout } from './commands/logout.js';
import { registerProfiles } from './commands/profiles.js';
import { registerReload } from './commands/reload.js';
import { registerRemove } from './commands/remove.js';
import { registerStatus } from './commands/status/status.js';
import { registerStop } from './commands/stop.js';
import { registerWhoami } from './commands/whoami/whoami.js';
import { Exit, reportError } from './fast/exitCodes.js';
import { GLOBAL_FLAGS, type FastCommand } from './fast/commandLine.js';
import { registerFastCommand } from './fastCommandHelp.js';
import { FAST_COMMANDS } from './fastCommands.js';

const HELP_FOOTER = `
Typical use:
  kms-agent add work --issuer https://idp.example.com --client-id ID   write a profile, checked at the provider
  kms-agent login                    log in once (the browser, or the device flow where none can open)
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1
  kms-agent whoami                   who the tokens say you are

Exit codes: 0 ok, 1 error, 2 no agent, 3 login denied or failed, 4 login timed out,
5 login required, 6 provider unreachable and no valid token cached, 7 refused: the agent is
locked, the user did not confirm, or the request is outside a delegation.
Environment: KMS_AGENT_SOCK, KMS_AGENT_CONFIG, KMS_AGENT_PROFILE, KMS_AGENT_NO_AUTOSTART=1,
KMS_AGENT_LOG_LEVEL, BROWSER.`;

type Register = (program: Command, cli: CliContext) => void;
const fast = (name: string): FastCommand => FAST_COMMANDS.find((command) => command.name === name)!;

/**
 * The commands, in the order `--help` lists them: each module is one command; a fast command, from
 * the fast path's registry (fastCommands.ts), gets its help here, and any fast command not placed
 * here is listed after these.
 */
const COMMANDS: ReadonlyArray<Register | FastCommand> = [
  fast('start'),
  registerStop,
  registerStatus,
  registerLogin,
  registerLogout,
  fast('token'),
  registerWhoami,
  registerExec,
  registerDelegate,
  fast('kubectl-credential'),
  fast('git-credential'),
  registerProfiles,
  registerAdd,
  registerRemove,
  registerReload,
  registerLock,
  registerAudit,
  registerInstallService,
  registerDemo,
  registerCompletion,
];

/** The full command line (docs/cli.md). Returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('kms-agent')
    .description(
      'Keeps you logged in to an OAuth 2.0 / OpenID Connect provider and hands fresh tokens to any local tool, like ssh-agent does for SSH keys.',
    )
    .version(VERSION, '-V, --version');
  for (const { flags, description } of Object.values(GLOBAL_FLAGS))
    program.addOption(new Option(flags, description));
  program.addHelpText('after', HELP_FOOTER).showSuggestionAfterError().exitOverride();
  const cli = new CliContext(program, argv);
  const placed = new Set(COMMANDS);
  const unplaced = FAST_COMMANDS.filter((command) => !placed.has(command));
  for (const command of [...COMMANDS, ...unplaced]) {
    if (typeof command === 'function') command(program, cli);
    else registerFastCommand(program, cli, command);
  }
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
