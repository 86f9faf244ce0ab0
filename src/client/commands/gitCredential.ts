import type { Command } from 'commander';
import { GIT_FLAGS } from '../commandLine.js';
import { runGitCredential } from '../gitCredential.js';
import type { CliContext } from './context.js';
import { registerFastCommand } from './fastCommand.js';

const GIT_HELP = `
git runs it as a credential helper (docs/tools.md); the "!" makes git run the command as written:
  git config --global credential.https://gitlab.example.com.helper ''
  git config --global --add credential.https://gitlab.example.com.helper '!kms-agent git-credential'

get: username, the token as password, password_expiry_utc. The profile is the one the config's
[git."host"] table names (or --profile); a host without one gets nothing, so git asks its next
helper. store and erase do nothing: the agent keeps the login.`;

export function registerGitCredential(program: Command, cli: CliContext): void {
  registerFastCommand(program, cli, {
    name: 'git-credential',
    arguments: '<action>',
    description: "git's credential helper: answers `get` with a fresh token for the host",
    flags: GIT_FLAGS,
    help: GIT_HELP,
    run: runGitCredential,
  });
}
