/**
 * The user's directories, as the XDG base directory spec places them (docs/configuration.md), for
 * the daemon and every client alike. On the `kms-agent token` fast path: node:os only when HOME is
 * unset (0.3 ms).
 */
import { isAbsolute, join } from 'node:path';
import { nodeRequire } from './packageFiles.js';

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
