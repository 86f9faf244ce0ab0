/**
 * Where things live (docs/protocol.md, "Where the socket is"; docs/configuration.md), for the daemon and every client alike,
 * and whether the agent's socket there can be trusted: the daemon checks its directory before it
 * binds, and every client checks the directory and the socket before it sends a byte, so a socket
 * that another user put there first never gets a request (or a login). On the
 * `kms-agent token` fast path: lstat only (microseconds), node:os only when HOME is unset (0.3 ms).
 */
import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { nodeRequire } from '../os/packageFiles.js';
import { AgentError } from './jsonRpc.js';

type Env = NodeJS.ProcessEnv;

/** Tests point HOME at a temp dir, so HOME wins over the passwd entry. */
export function homeDir(env: Env = process.env): string {
  return env.HOME || (nodeRequire()('node:os') as typeof import('node:os')).homedir();
}

/** An XDG base directory, or its default under home; relative values are ignored, as the XDG spec requires. */
export function xdgDir(env: Env, variable: string, fallback: string[]): string {
  const value = env[variable];
  return value && isAbsolute(value) ? value : join(homeDir(env), ...fallback);
}

/** Where the file token store, the detached daemon's log and (without XDG_RUNTIME_DIR) the socket live. */
export function resolveStateDir(env: Env = process.env): string {
  return join(xdgDir(env, 'XDG_STATE_HOME', ['.local', 'state']), 'kms-agent');
}

/**
 * Where the agent listens: --socket, then KMS_AGENT_SOCK, then $XDG_RUNTIME_DIR/kms-agent/agent.sock,
 * else in the user's own 0700 state directory, never at a predictable path in a shared directory
 * such as /tmp, where another user could be there first.
 */
export function resolveSocketPath(flag?: string, env: Env = process.env): string {
  // Absolute, because the daemon runs from /: a relative path is the caller's.
  const chosen = flag || env.KMS_AGENT_SOCK;
  if (chosen) return resolve(chosen);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime)) return join(runtime, 'kms-agent', 'agent.sock');
  return join(resolveStateDir(env), 'agent.sock');
}

/** Whether the socket was named (--socket, KMS_AGENT_SOCK): then no other agent is used instead. */
export function socketNamed(flag?: string, env: Env = process.env): boolean {
  return Boolean(flag || env.KMS_AGENT_SOCK);
}

/** sun_path holds 108 bytes on Linux (104 on macOS) with the final NUL; a longer path is silently cut by bind. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

// ---- whether the socket can be trusted ---------------------------------------------------------

const uid = (): number | undefined => process.getuid?.();

function refuse(message: string): AgentError {
  return new AgentError('INSECURE_SOCKET', message);
}

/** Why `dir` must not hold the agent's socket, or undefined: it must be a real directory, ours, that nobody else can write. */
export function socketDirectoryProblem(dir: string, stat: Stats): AgentError | undefined {
  if (stat.isSymbolicLink()) return refuse(`refusing socket directory ${dir}: it is a symbolic link; use a real directory that only you own`);
  if (!stat.isDirectory()) return refuse(`refusing socket directory ${dir}: it is not a directory`);
  const me = uid();
  if (me !== undefined && stat.uid !== me) {
    return refuse(`refusing socket directory ${dir}: it is owned by uid ${stat.uid}, not you (uid ${me}); another user could replace the socket`);
  }
  if ((stat.mode & 0o022) !== 0) {
    return refuse(`refusing socket directory ${dir}: group or others can write to it (mode ${(stat.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\``);
  }
  return undefined;
}

/** A path bind() would cut short (at another name, maybe in another directory) is refused outright. */
export function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new AgentError(
      'USAGE',
      `the socket path ${socketPath} is ${bytes} bytes long, more than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: choose a shorter one with --socket or KMS_AGENT_SOCK`,
    );
  }
}

/**
 * A client's check before it connects: true when a socket we may talk to is there, false when there
 * is none (no agent: autostart may start one). Throws INSECURE_SOCKET when the directory or the
 * socket is not the user's own, naming the path and what is wrong.
 */
export function checkAgentSocket(socketPath: string): boolean {
  checkSocketPathLength(socketPath);
  const dir = dirname(socketPath);
  const dirStat = lstatSync(dir, { throwIfNoEntry: false });
  if (dirStat === undefined) return false;
  const problem = socketDirectoryProblem(dir, dirStat);
  if (problem) throw problem;
  const stat = lstatSync(socketPath, { throwIfNoEntry: false });
  if (stat === undefined) return false;
  if (!stat.isSocket()) throw refuse(`refusing socket ${socketPath}: it is not a socket: remove it or choose another path with --socket`);
  const me = uid();
  if (me !== undefined && stat.uid !== me) {
    throw refuse(`refusing socket ${socketPath}: it is owned by uid ${stat.uid}, not you (uid ${me}); it is not your agent`);
  }
  return true;
}

/**
 * Creates `dir` 0700 if missing and checks it is a real directory of the user's that nobody else
 * can even read: for files holding tokens (token files, the ckms config copy). Returns `dir`.
 */
export function privateDirectory(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  const me = uid();
  if (!info.isDirectory() || (me !== undefined && info.uid !== me) || (info.mode & 0o077) !== 0) {
    throw new Error(`refusing ${dir}: it must be a directory of yours with mode 0700`);
  }
  return dir;
}
