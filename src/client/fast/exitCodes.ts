import { AgentError, type Reason } from '../../rpc/jsonRpc.js';
import { terminalLines } from '../../text/terminalText.js';

/** The exit codes of docs/cli.md. */
export const Exit = {
  OK: 0,
  ERROR: 1,
  NO_AGENT: 2,
  LOGIN_FAILED: 3,
  LOGIN_TIMEOUT: 4,
  LOGIN_REQUIRED: 5,
  PROVIDER_UNREACHABLE: 6,
  /** The agent's policy said no: locked, not confirmed, or outside a delegation. */
  REFUSED: 7,
} as const;

/**
 * How a command maps reasons to exit codes: most commands one way; `login` exits 3 for any login
 * that was denied, failed or cannot be done (also when the provider is unreachable, which `token`
 * reports as 6) and
 * 4 when it timed out; `start` exits 1 when the agent cannot start (2 is for commands that need one).
 */
export type CommandKind = 'command' | 'login' | 'start';
const COLUMN: Record<CommandKind, number> = { command: 0, login: 1, start: 2 };

const { ERROR, NO_AGENT, LOGIN_FAILED, LOGIN_TIMEOUT, LOGIN_REQUIRED, PROVIDER_UNREACHABLE } = Exit;
const { REFUSED } = Exit;

/** The one table: reason → exit code, a column per command kind. */
const EXIT_CODES: Record<Reason, readonly [command: number, login: number, start: number]> = {
  LOGIN_REQUIRED: [LOGIN_REQUIRED, LOGIN_REQUIRED, LOGIN_REQUIRED],
  UNKNOWN_PROFILE: [ERROR, ERROR, ERROR],
  PROVIDER_UNREACHABLE: [PROVIDER_UNREACHABLE, LOGIN_FAILED, PROVIDER_UNREACHABLE],
  PROVIDER_ERROR: [ERROR, LOGIN_FAILED, ERROR],
  STORE_UNAVAILABLE: [ERROR, LOGIN_FAILED, ERROR],
  LOGIN_TIMEOUT: [LOGIN_TIMEOUT, LOGIN_TIMEOUT, LOGIN_TIMEOUT],
  LOGIN_DENIED: [LOGIN_FAILED, LOGIN_FAILED, LOGIN_FAILED],
  // For login: a flow the profile cannot do (`--device`, no device endpoint): no way to log in.
  INVALID_PARAMS: [ERROR, LOGIN_FAILED, ERROR],
  BUSY: [ERROR, LOGIN_FAILED, ERROR],
  CONFIG_ERROR: [ERROR, ERROR, ERROR],
  // login on a client credentials profile says so and succeeds: there is nothing to do.
  NO_LOGIN_NEEDED: [ERROR, Exit.OK, ERROR],
  // A DPoP profile's token asked for without a proof (token --dpop): it would be useless.
  DPOP_REQUIRED: [ERROR, ERROR, ERROR],
  LOCKED: [REFUSED, REFUSED, REFUSED],
  NOT_CONFIRMED: [REFUSED, REFUSED, REFUSED],
  FORBIDDEN: [REFUSED, REFUSED, REFUSED],
  WRONG_PASSPHRASE: [ERROR, ERROR, ERROR],
  // For start, an agent that vanished while it looked for one: it could not start one either.
  NO_AGENT: [NO_AGENT, NO_AGENT, ERROR],
  AGENT_START_FAILED: [NO_AGENT, NO_AGENT, ERROR],
  USAGE: [ERROR, ERROR, ERROR],
  // Not "no agent": someone else's socket is no reason to start one (docs/protocol.md).
  INSECURE_SOCKET: [ERROR, ERROR, ERROR],
  AGENT_FAILED: [ERROR, ERROR, ERROR],
};

/**
 * Prints the error on stderr and returns the command's exit code for it. The message may quote
 * what someone else wrote (a host git named, a provider's words): no control character of theirs
 * reaches the terminal.
 */
export function reportError(err: unknown, kind: CommandKind = 'command'): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kms-agent: ${terminalLines(message)}\n`);
  return err instanceof AgentError ? EXIT_CODES[err.reason][COLUMN[kind]]! : Exit.ERROR;
}
