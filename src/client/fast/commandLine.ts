/**
 * The one parser of the command lines that run without commander (the fast commands,
 * src/client/fastCommands.ts), the global flags they share with every command, and what the
 * environment chooses (profile, config, autostart). The commander CLI builds its options and help
 * from the same flag tables, so every route accepts and refuses the same things.
 */
import { resolve } from 'node:path';
import { namedConfigFile } from '../../config/namedConfig.js';
import { AgentError } from '../../rpc/jsonRpc.js';

/** A flag as commander writes it (`-p, --profile <name>`), and its help line. */
export interface FlagSpec {
  flags: string;
  description: string;
}

/** A command that runs without commander: its flags, its help and its runner. */
export interface FastCommand {
  name: string;
  /** What it takes after its options, as --help shows it (`<action>`): one operand a word. */
  operands?: string;
  description: string;
  flags: Record<string, FlagSpec>;
  /** Text after the options in --help. */
  help?: string;
  /** Runs the command line (argv after the script); `done` gets the exit code. */
  run(args: readonly string[], done: (exitCode: number) => void): void;
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
  autostart: {
    flags: '--no-autostart',
    description:
      'fail instead of starting an agent when none answers (also KMS_AGENT_NO_AUTOSTART=1)',
  },
} satisfies Record<string, FlagSpec>;

/** Flag values by key, as commander's opts() and parseCommandLine produce them. */
export type FlagValues = { [key: string]: string | boolean | undefined };

/** Which agent to ask: the socket (--socket), and the config and autostart choice for one started on the way. */
export interface AgentRoute {
  socket?: string | undefined;
  config?: string | undefined;
  autostart?: boolean | undefined;
}

export function usage(message: string): AgentError {
  return new AgentError('USAGE', message);
}

interface Flag {
  key: string;
  /** How many values follow it: 0, 1, or 2 (`--dpop <method> <url>`). */
  values: number;
  /** `--no-x` sets x to false. */
  negated: boolean;
}

/** Every spelling of each flag (`-p`, `--profile`), read from the specs themselves. */
function lookup(specs: Record<string, FlagSpec>): Map<string, Flag> {
  const names = new Map<string, Flag>();
  for (const key in specs) {
    const [spellings = '', ...values] = specs[key]!.flags.split(' <');
    for (const name of spellings.split(', ')) {
      names.set(name, { key, values: values.length, negated: name.startsWith('--no-') });
    }
  }
  return names;
}
const BEFORE_COMMAND = lookup(GLOBAL_FLAGS);

/** The flag (and its value, `--flag=value`) that `arg` names. */
function splitFlag(arg: string): { name: string; eq: number } {
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  return { name: eq === -1 ? arg : arg.slice(0, eq), eq };
}

/** The one of `commands` these arguments (argv after the script) run, global options first; undefined for any other. */
export function fastCommandOf<C extends FastCommand>(
  args: readonly string[],
  commands: readonly C[],
): C | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const command = commands.find(({ name }) => name === arg);
    if (command) return command;
    const { name, eq } = splitFlag(arg);
    const flag = BEFORE_COMMAND.get(name);
    if (flag === undefined) return undefined;
    if (flag.values > 0 && eq === -1) i++;
  }
  return undefined;
}

/** A fast command's line, parsed: its flag values and operands. */
export interface ParsedCommandLine {
  values: FlagValues;
  operands: string[];
}

/**
 * Parses `[global options] COMMAND [options] [operands]` (`--flag value`, `--flag=value`); a USAGE
 * AgentError says what is wrong.
 */
export function parseCommandLine(args: readonly string[], command: FastCommand): ParsedCommandLine {
  const after = lookup({ ...GLOBAL_FLAGS, ...command.flags });
  const operandCount = command.operands?.split(' ').length ?? 0;
  const values: FlagValues = {};
  const operands: string[] = [];
  let seen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!seen && arg === command.name) {
      seen = true;
      continue;
    }
    const { name, eq } = splitFlag(arg);
    const flag = (seen ? after : BEFORE_COMMAND).get(name);
    if (flag === undefined) {
      if (seen && !arg.startsWith('-') && operands.length < operandCount) {
        operands.push(arg);
        continue;
      }
      throw usage(`unknown option ${arg} (see \`kms-agent ${command.name} --help\`)`);
    }
    if (flag.values === 0) {
      if (eq !== -1) throw usage(`option ${name} takes no value`);
      values[flag.key] = !flag.negated;
      continue;
    }
    // Two values (`--dpop GET URL`) are kept as one, separated by a space neither can hold.
    const taken: string[] = [];
    for (let n = 0; n < flag.values; n++) {
      const value = n === 0 && eq !== -1 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '' || (n > 0 && value.startsWith('-'))) {
        const what = flag.values === 1 ? 'a value' : `${flag.values} values`;
        throw usage(`option ${name} needs ${what}`);
      }
      taken.push(value);
    }
    values[flag.key] = taken.join(' ');
  }
  return { values, operands };
}

export function textValue(values: FlagValues, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

/** The global options as flag values give them: which agent to ask, and how to start one. */
export function agentRoute(values: FlagValues): AgentRoute {
  return {
    socket: textValue(values, 'socket'),
    config: textValue(values, 'config'),
    autostart: typeof values.autostart === 'boolean' ? values.autostart : undefined,
  };
}

/** The one place that reads KMS_AGENT_PROFILE: the profile a command asks for, or undefined for the agent's default. */
export function chosenProfile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return flag || env.KMS_AGENT_PROFILE || undefined;
}

/** The config an agent started by this command reads: --config, else KMS_AGENT_CONFIG (else the daemon's default). */
export function chosenConfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
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
export function autostartAllowed(
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (flag === false) return false;
  return !(env.KMS_AGENT_NO_AUTOSTART && env.KMS_AGENT_NO_AUTOSTART !== '0');
}
