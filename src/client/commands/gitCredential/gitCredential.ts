/**
 * `kms-agent git-credential get|store|erase`: git's credential helper protocol (docs/tools.md; git
 * runs `get` whenever a server asks for credentials, then `store` or `erase`), a fast command
 * (src/client/fastCommands.ts).
 *
 * Which host gets which token is the config's business: the [git] table, or --profile given in the
 * helper line. KMS_AGENT_PROFILE does not apply here: with it, every host that asked git for a
 * password would be sent that profile's token.
 */
import type { AgentError } from '../../../rpc/jsonRpc.js';
import type { Params, Result } from '../../../rpc/methods.js';
import { askAgent } from '../../fast/askAgent.js';
import {
  agentRoute,
  configToCheck,
  parseCommandLine,
  usage,
  type FastCommand,
  type FlagSpec,
  type FlagValues,
} from '../../fast/commandLine.js';
import { reportError } from '../../fast/exitCodes.js';
import { fail, OK, print } from '../../fast/output.js';
import {
  destination,
  parseCredentialRequest,
  readRequest,
  type CredentialRequest,
} from './gitRequest.js';

const GIT_HELP = `
git runs it as a credential helper (docs/tools.md); the "!" makes git run the command as written:
  git config --global credential.https://gitlab.example.com.helper ''
  git config --global --add credential.https://gitlab.example.com.helper '!kms-agent git-credential'

get: username, the token as password, password_expiry_utc. The profile is the one the config's
[git."host"] table names (or --profile); a host without one gets nothing, so git asks its next
helper. store and erase do nothing: the agent keeps the login.`;

/** The profile, when the config's [git] table does not name one for the host. */
const GIT_FLAGS = {
  profile: {
    flags: '-p, --profile <name>',
    description: 'profile for every host (default: the one the [git] table names for the host)',
  },
} satisfies Record<string, FlagSpec>;

export const gitCredentialCommand: FastCommand = {
  name: 'git-credential',
  operands: '<action>',
  description: "git's credential helper: answers `get` with a fresh token for the host",
  flags: GIT_FLAGS,
  help: GIT_HELP,
  run: runGitCredential,
};

/** One `key=value` line; git reads a newline or NUL inside a value as the start of another key. */
function attribute(key: string, value: string | number): string {
  const text = String(value);
  if (/[\n\0]/.test(text))
    throw usage(`the ${key} for git holds a newline or a NUL: check the [git] table`);
  return `${key}=${text}\n`;
}

function credentialLines(credential: Result<'git.credential'>): string {
  return (
    attribute('username', credential.username) +
    attribute('password', credential.token) +
    attribute('password_expiry_utc', Math.floor(credential.expires_at))
  );
}

/**
 * `get`: username, the token as password, and its expiry (git ≥ 2.41 uses it). A host this agent
 * has no profile for gets nothing, so git asks its next helper or the user; the reason is one line
 * on stderr. When the host is ours but no token can be had (not logged in, provider down), the
 * answer is `quit=1`, so git stops there rather than prompting for a password or trying a stale one.
 */
function answerGet(
  values: FlagValues,
  request: CredentialRequest,
  done: (exitCode: number) => void,
): void {
  const to = destination(request);
  if (typeof to === 'string') {
    if (to !== '') process.stderr.write(`kms-agent: ${to}\n`);
    return done(OK);
  }
  const params: Params<'git.credential'> = { host: to.host };
  const profile = typeof values.profile === 'string' ? values.profile : undefined;
  if (profile !== undefined) params.profile = profile;
  try {
    const config = configToCheck(agentRoute(values));
    if (config !== undefined) params.config = config;
  } catch (err) {
    return done(fail(err));
  }
  askAgent(agentRoute(values), 'git.credential', params, (err, credential) => {
    if (err === undefined) {
      try {
        const warning = credential!.warning;
        if (warning) process.stderr.write(`kms-agent: warning: ${warning}\n`);
        print(credentialLines(credential!));
        return done(OK);
      } catch (problem) {
        return done(fail(problem));
      }
    }
    const reason = (err as AgentError).reason;
    if (profile === undefined && reason === 'UNKNOWN_PROFILE') {
      reportError(err);
      return done(OK);
    }
    // Only a host that is ours stops git: without --profile, an agent that cannot be reached cannot say.
    if (
      profile !== undefined ||
      !['NO_AGENT', 'AGENT_START_FAILED', 'AGENT_FAILED', 'INSECURE_SOCKET'].includes(reason)
    )
      print('quit=1\n');
    done(fail(err));
  });
}

function runGitCredential(args: readonly string[], done: (exitCode: number) => void): void {
  let values: FlagValues;
  let action: string | undefined;
  try {
    const parsed = parseCommandLine(args, gitCredentialCommand);
    values = parsed.values;
    action = parsed.operands[0];
    if (action === undefined)
      throw usage(
        'git-credential takes the action git gives it (get, store or erase): configure it with `git config credential.helper "!kms-agent git-credential"`',
      );
  } catch (err) {
    return done(fail(err));
  }
  readRequest((text) => {
    // store and erase: the agent keeps the login, there is nothing to store; newer actions are ignored, as the protocol asks.
    if (action !== 'get') return done(OK);
    answerGet(values, parseCredentialRequest(text), done);
  });
}
