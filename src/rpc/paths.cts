/**
 * Where things live (README.md, "Files and environment"), for the daemon and every client alike.
 * CommonJS for the `kms-agent token` fast path; node:os only when HOME is unset (0.3 ms to load).
 */
import { isAbsolute, join, resolve } from 'node:path';

type Env = NodeJS.ProcessEnv;

/** Tests point HOME at a temp dir, so HOME wins over the passwd entry. */
export function homeDir(env: Env = process.env): string {
  return env.HOME || (require('node:os') as typeof import('node:os')).homedir();
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
 * then $TMPDIR/kms-agent-$UID/agent.sock.
 */
export function resolveSocketPath(flag?: string, env: Env = process.env): string {
  // Absolute, because the daemon runs from /: a relative path is the caller's.
  const chosen = flag || env.KMS_AGENT_SOCK;
  if (chosen) return resolve(chosen);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime)) return join(runtime, 'kms-agent', 'agent.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(env.TMPDIR || '/tmp', `kms-agent-${uid}`, 'agent.sock');
}
