/**
 * The one definition of the flags of the commands that run without commander (`token`, and the
 * credential helpers kubectl and git run: the global flags, and the token selection they share
 * with `exec`), the one parser of their command lines, and what the environment chooses (profile,
 * config, autostart). The commander CLI builds its options and help from these tables; these
 * commands are parsed here on every route, so they accept and refuse the same things whatever
 * route they take. No commander: the fast path (fastCommands.ts) runs this.
 */
import { resolve } from 'node:path';
import { namedConfigFile } from '../config/namedConfig.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { Params, TokenKind } from '../rpc/methods.js';

/** A flag as commander writes it (`-p, --profile <name>`), and its help line. */
export interface FlagSpec {
  flags: string;
  description: string;
}

export const GLOBAL_FLAGS = {
  socket: {
    flags: '--socket <path>',
    description:
      'agent socket (default: $KMS_AGENT_SOCK, else $XDG_RUNTIME_DIR/kms-agent/agent.sock, ' +
      'else $XDG_STATE_HOME/kms-agent/agent.sock: ~/.local/state/…)',
  },
  config: {
    flags: '--config <path>',
    description:
      'config file of the agent (default: $KMS_AGENT_CONFIG, ' +
      'else ~/.config/kms-agent/config.toml); a running agent that reads another is an error',
  },
  autostart: { flags: '--no-autostart', description: 'fail instead of starting an agent when none answers (also KMS_AGENT_NO_AUTOSTART=1)' },
} satisfies Record<string, FlagSpec>;

/** Which token: shared by `token` and `exec`. */
export const SELECTION_FLAGS = {
  profile: { flags: '-p, --profile <name>', description: 'profile (default: $KMS_AGENT_PROFILE, else the default profile)' },
  id: { flags: '--id', description: 'the id_token' },
  access: { flags: '--access', description: 'the access token' },
} satisfies Record<string, FlagSpec>;

export const TOKEN_FLAGS = {
  ...SELECTION_FLAGS,
  minValid: { flags: '--min-valid <seconds>', description: 'refresh first unless the token is valid this long (default: 60 s or half its lifetime)' },
  scope: { flags: '--scope <scopes>', description: 'a token for these scopes (space-separated), obtained with the stored refresh token' },
  audience: { flags: '--audience <resource>', description: 'a token for this audience / resource (RFC 8707)' },
  json: { flags: '--json', description: 'print {token, token_type, expires_at, profile}' },
  header: { flags: '--header', description: 'print "Authorization: Bearer <token>" for curl -H @-' },
} satisfies Record<string, FlagSpec>;

/** `kubectl-credential`: which token kubectl gets. */
export const KUBECTL_FLAGS = SELECTION_FLAGS;

/** `git-credential ACTION`: the profile, when the config's [git] table does not name one for the host. */
export const GIT_FLAGS = {
  profile: { flags: '-p, --profile <name>', description: 'profile for every host (default: the one the [git] table names for the host)' },
} satisfies Record<string, FlagSpec>;

/** `start`: how to print the exports, or to become the agent itself (service managers). */
export const START_FLAGS = {
  foreground: { flags: '-f, --foreground', description: 'stay in the foreground and log to stderr (for service managers)' },
  csh: { flags: '-c, --csh', description: 'print csh syntax' },
  sh: { flags: '-s, --sh', description: 'print sh syntax (the default unless $SHELL is a csh)' },
} satisfies Record<string, FlagSpec>;

/**
 * Commands that run without commander (fastCommands.ts): the tools run `token` and the credential
 * helpers over and over, and every new shell may run `eval "$(kms-agent start)"`.
 */
export const FAST_COMMANDS = ['token', 'kubectl-credential', 'git-credential', 'start'] as const;
export type FastCommand = (typeof FAST_COMMANDS)[number];

/** Flags that contradict each other (docs/cli.md): refused on every route. */
const CONFLICTS: ReadonlyArray<readonly [keyof typeof TOKEN_FLAGS, keyof typeof TOKEN_FLAGS]> = [
  ['id', 'access'],
  ['json', 'header'],
];

/** Flag values by key, as commander's opts() and parseTokenCommandLine produce them. */
export type FlagValues = { [key: string]: string | boolean | undefined };

export interface TokenOptions {
  params: Params<'token.get'>;
  output: 'plain' | 'json' | 'header';
  socket?: string | undefined;
  config?: string | undefined;
  autostart?: boolean | undefined;
}

export function usage(message: string): AgentError {
  return new AgentError('USAGE', message);
}

interface Flag {
  key: string;
  takesValue: boolean;
  /** `--no-x` sets x to false. */
  negated: boolean;
}

/** Every spelling of each flag (`-p`, `--profile`), read from the specs themselves. */
function lookup(specs: Record<string, FlagSpec>): Map<string, Flag> {
  const names = new Map<string, Flag>();
  for (const key in specs) {
    const [spellings = '', value] = specs[key]!.flags.split(' <');
    for (const name of spellings.split(', ')) names.set(name, { key, takesValue: value !== undefined, negated: name.startsWith('--no-') });
  }
  return names;
}
const BEFORE_COMMAND = lookup(GLOBAL_FLAGS);
const COMMAND_FLAGS: Record<FastCommand, Record<string, FlagSpec>> = {
  token: TOKEN_FLAGS,
  'kubectl-credential': KUBECTL_FLAGS,
  'git-credential': GIT_FLAGS,
  start: START_FLAGS,
};
/** The flags after the command: built for the one command a process runs. */
const afterCommand = new Map<FastCommand, Map<string, Flag>>();
function flagsAfter(command: FastCommand): Map<string, Flag> {
  let flags = afterCommand.get(command);
  if (flags === undefined) afterCommand.set(command, (flags = lookup({ ...GLOBAL_FLAGS, ...COMMAND_FLAGS[command] })));
  return flags;
}
/** How many operands each takes: git names the action (get, store, erase) last. */
const OPERANDS: Record<FastCommand, number> = { token: 0, 'kubectl-credential': 0, 'git-credential': 1, start: 0 };

/** The fast command these arguments (argv after the script) run, global options first; undefined for any other. */
export function fastCommandOf(args: readonly string[]): FastCommand | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const command = FAST_COMMANDS.find((name) => name === arg);
    if (command) return command;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = BEFORE_COMMAND.get(eq === -1 ? arg : arg.slice(0, eq));
    if (flag === undefined) return undefined;
    if (flag.takesValue && eq === -1) i++;
  }
  return undefined;
}

/** A fast command's line, parsed: its flag values and operands. */
export interface ParsedCommandLine {
  values: FlagValues;
  operands: string[];
}

/** Parses `[global options] COMMAND [options] [operands]` (`--flag value`, `--flag=value`); a USAGE AgentError says what is wrong. */
export function parseCommandLine(args: readonly string[], command: FastCommand): ParsedCommandLine {
  const values: FlagValues = {};
  const operands: string[] = [];
  let seen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!seen && arg === command) {
      seen = true;
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const flag = (seen ? flagsAfter(command) : BEFORE_COMMAND).get(name);
    if (flag === undefined) {
      if (seen && !arg.startsWith('-') && operands.length < OPERANDS[command]) {
        operands.push(arg);
        continue;
      }
      throw usage(`unknown option ${arg} (see \`kms-agent ${command} --help\`)`);
    }
    if (!flag.takesValue) {
      if (eq !== -1) throw usage(`option ${name} takes no value`);
      values[flag.key] = !flag.negated;
      continue;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw usage(`option ${name} needs a value`);
    values[flag.key] = value;
  }
  return { values, operands };
}

/** Parses `[global options] token [options]`. */
export function parseTokenCommandLine(args: readonly string[]): TokenOptions {
  return tokenOptions(parseCommandLine(args, 'token').values);
}

/** The options given as flag values (parsed above, or by commander for `exec`), checked. */
export function tokenOptions(values: FlagValues): TokenOptions {
  for (const [a, b] of CONFLICTS) {
    if (values[a] && values[b]) throw usage(`${longName(a)} and ${longName(b)} cannot be used together`);
  }
  const text = (key: string): string | undefined => textValue(values, key);
  const params: Params<'token.get'> = {};
  const profile = chosenProfile(text('profile'));
  if (profile) params.profile = profile;
  const minValid = text('minValid');
  if (minValid !== undefined) params.min_valid = seconds('--min-valid', minValid);
  const kind: TokenKind | undefined = values.id ? 'id' : values.access ? 'access' : undefined;
  if (kind) params.kind = kind;
  const scope = text('scope');
  if (scope) params.scope = scope;
  const audience = text('audience');
  if (audience) params.audience = audience;
  const route = agentRoute(values);
  const config = configToCheck(route);
  if (config) params.config = config;
  return { params, output: values.json ? 'json' : values.header ? 'header' : 'plain', ...route };
}

function textValue(values: FlagValues, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

/** The global options as flag values give them: which agent to ask, and how to start one. */
export function agentRoute(values: FlagValues): Pick<TokenOptions, 'socket' | 'config' | 'autostart'> {
  return {
    socket: textValue(values, 'socket'),
    config: textValue(values, 'config'),
    autostart: typeof values.autostart === 'boolean' ? values.autostart : undefined,
  };
}

function longName(key: keyof typeof TOKEN_FLAGS): string {
  return TOKEN_FLAGS[key].flags.replace(/^-\w, /, '').replace(/ <.*$/, '');
}

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw usage(`${flag} takes a number of seconds, got "${value}"`);
  return n;
}

/** The one place that reads KMS_AGENT_PROFILE: the profile a command asks for, or undefined for the agent's default. */
export function chosenProfile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag || env.KMS_AGENT_PROFILE || undefined;
}

/** The config an agent started by this command reads: --config, else KMS_AGENT_CONFIG (else the daemon's default). */
export function chosenConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = flag || env.KMS_AGENT_CONFIG;
  // The daemon runs from /: a relative path is the caller's.
  return path ? resolve(path) : undefined;
}

/**
 * The config file this command names (--config, KMS_AGENT_CONFIG) with its links resolved, for the
 * agent to compare with its own; undefined when none is named. Throws when the file does not exist.
 */
export function configToCheck(
  route: { config?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return namedConfigFile(chosenConfig(route.config, env));
}

/** Start an agent when none answers (like gpg-agent), unless --no-autostart or KMS_AGENT_NO_AUTOSTART (other than 0). */
export function autostartAllowed(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  return !(env.KMS_AGENT_NO_AUTOSTART && env.KMS_AGENT_NO_AUTOSTART !== '0');
}
