/**
 * Where the agent's socket is (docs/protocol.md, "Where the socket is"), and whether it can be
 * trusted: the daemon checks its directory before it binds, and every client checks the directory
 * and the socket before it sends a byte, so a socket that another user put there first never gets
 * a request (or a login). On the `kms-agent token` fast path: lstat only (microseconds).
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { AgentError } from '../rpc/jsonRpc.js';
import { distrust, type Distrust, type TrustRule } from './fileSafety.js';
import { resolveStateDir } from './xdgPaths.js';

type Env = NodeJS.ProcessEnv;

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

/** The socket's directory: a real directory, ours, that nobody else can write to. */
const SOCKET_DIRECTORY: TrustRule = { type: 'directory' };
/** The socket itself: ours (who reaches it is its directory's business). */
const SOCKET: TrustRule = { type: 'socket', anyMode: true };

function refuse(message: string): AgentError {
  return new AgentError('INSECURE_SOCKET', message);
}

/** Why `dir` must not hold the agent's socket, or undefined when it may; 'missing' when it is not there. */
export function socketDirectoryProblem(dir: string): AgentError | 'missing' | undefined {
  const problem = distrust(dir, SOCKET_DIRECTORY);
  return problem?.kind === 'missing' ? 'missing' : problem && socketDirectoryRefusal(dir, problem);
}

function socketDirectoryRefusal(dir: string, problem: Distrust): AgentError {
  const refusing = `refusing socket directory ${dir}`;
  switch (problem.kind) {
    case 'link':
      return refuse(`${refusing}: it is a symbolic link; use a real directory that only you own`);
    case 'owner':
      return refuse(
        `${refusing}: it is owned by uid ${problem.owner}, not you (uid ${problem.me}); ` +
          'another user could replace the socket',
      );
    case 'mode':
      return refuse(
        `${refusing}: group or others can write to it (mode ${problem.mode.toString(8)}); ` +
          `run \`chmod 700 ${dir}\``,
      );
    default:
      return refuse(`${refusing}: it is not a directory`);
  }
}

/** A path bind() would cut short (at another name, maybe in another directory) is refused outright. */
export function checkSocketPathLength(socketPath: string): void {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new AgentError(
      'USAGE',
      `the socket path ${socketPath} is ${bytes} bytes long, more than the ` +
        `${MAX_SOCKET_PATH_BYTES} a Unix socket allows: choose a shorter one with --socket or KMS_AGENT_SOCK`,
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
  const dirProblem = socketDirectoryProblem(dirname(socketPath));
  if (dirProblem === 'missing') return false;
  if (dirProblem) throw dirProblem;
  const problem = distrust(socketPath, SOCKET);
  if (problem?.kind === 'missing') return false;
  if (problem?.kind === 'owner') {
    throw refuse(
      `refusing socket ${socketPath}: it is owned by uid ${problem.owner}, not you (uid ${problem.me}); ` +
        'it is not your agent',
    );
  }
  if (problem) {
    throw refuse(
      `refusing socket ${socketPath}: it is not a socket: remove it or choose another path with --socket`,
    );
  }
  return true;
}
