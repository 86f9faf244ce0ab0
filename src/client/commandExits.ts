import { Exit } from './fast/exitCodes.js';

const { OK, ERROR, NO_AGENT, LOGIN_FAILED, LOGIN_TIMEOUT, LOGIN_REQUIRED } = Exit;
const { PROVIDER_UNREACHABLE, REFUSED } = Exit;

/** What a command can exit with: its own codes, and for `exec` whatever its command exits with. */
export interface CommandExits {
  codes: readonly number[];
  /** The command it runs passes its exit code through (any code). */
  child?: true;
}

/** A command that needs the agent may find none (2) or be refused (1, a usage error for one). */
const NEEDS_AGENT = [OK, ERROR, NO_AGENT];
/** ...and, asking more than its status, a locked agent or a delegated socket may say no (7). */
const ASKS_AGENT = [...NEEDS_AGENT, REFUSED];
const SERVES_TOKENS = [...ASKS_AGENT, LOGIN_REQUIRED, PROVIDER_UNREACHABLE];
/** exec's own: a token it could not get, a command that cannot run (126) or is not found (127). */
const RUNS_A_COMMAND = [ERROR, NO_AGENT, LOGIN_REQUIRED, PROVIDER_UNREACHABLE, REFUSED, 126, 127];

/**
 * Every exit code each command can return: the one statement of them. docs/cli.md's "exits" column
 * and the README's must list exactly these (test/commandExits.test.mjs), and every command line the
 * tests run must exit with one of its command's (test/support/harness.mjs), so a new code that is
 * not stated here fails the suite. The reasons behind the codes: fast/exitCodes.ts.
 */
export const COMMAND_EXITS: Record<string, CommandExits> = {
  // 7: pointed at a delegated socket, which answers only token.get.
  start: { codes: [OK, ERROR, REFUSED] },
  stop: { codes: ASKS_AGENT },
  status: { codes: NEEDS_AGENT },
  reload: { codes: ASKS_AGENT },
  login: { codes: [...ASKS_AGENT, LOGIN_FAILED, LOGIN_TIMEOUT] },
  logout: { codes: ASKS_AGENT },
  token: { codes: SERVES_TOKENS },
  whoami: { codes: SERVES_TOKENS },
  exec: { codes: RUNS_A_COMMAND, child: true },
  'exec --ckms': { codes: RUNS_A_COMMAND, child: true },
  'kubectl-credential': { codes: SERVES_TOKENS },
  'git-credential': { codes: SERVES_TOKENS },
  // With a delegation's own errors: an exchange the provider refused (1) or cannot do now (6).
  delegate: { codes: [OK, ...RUNS_A_COMMAND], child: true },
  profiles: { codes: ASKS_AGENT },
  // With the login it offers on a terminal: login's codes.
  add: { codes: [...ASKS_AGENT, LOGIN_FAILED, LOGIN_TIMEOUT] },
  remove: { codes: [OK, ERROR, REFUSED] },
  lock: { codes: ASKS_AGENT },
  unlock: { codes: ASKS_AGENT },
  audit: { codes: ASKS_AGENT },
  'install-service': { codes: [OK, ERROR] },
  completion: { codes: [OK, ERROR] },
  // 130: interrupted (Ctrl-C), after it cleaned up.
  demo: { codes: [OK, ERROR, 130] },
};

/** What each code means, for a command's --help. */
const MEANING: Record<number, string> = {
  [OK]: 'ok',
  [ERROR]: 'error',
  [NO_AGENT]: 'no agent',
  [LOGIN_FAILED]: 'login denied or failed',
  [LOGIN_TIMEOUT]: 'login timed out',
  [LOGIN_REQUIRED]: 'login required',
  [PROVIDER_UNREACHABLE]: 'provider unreachable and no valid token cached',
  [REFUSED]: 'refused: locked, not confirmed, or outside a delegation',
  126: 'the command cannot run',
  127: 'the command is not found',
  130: 'interrupted',
};

/** The end of a command's --help: the exit codes it can return. */
export function exitCodesHelp(command: string): string | undefined {
  const exits = COMMAND_EXITS[command];
  if (exits === undefined) return undefined;
  const codes = exits.codes.map((code) => `${code} ${MEANING[code]}`).join(', ');
  return `\nExit codes: ${exits.child ? `the command's own; else ${codes}` : codes}.`;
}
