import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { ProfileSourceKind } from './profile.js';
import { homeDir, resolveStateDir, xdgDir } from '../rpc/paths.cjs';

/** Home and the state directory are shared with the client (src/rpc/paths.cts); re-exported for the daemon. */
export { homeDir, resolveStateDir };

type Env = NodeJS.ProcessEnv;
export type CosmianLayout = Exclude<ProfileSourceKind, 'config'>;

/** SPEC §2: --config, then KMS_AGENT_CONFIG, then $XDG_CONFIG_HOME/kms-agent/config.toml. */
export function resolveConfigPath(flag?: string, env: Env = process.env): string {
  const chosen = flag || env.KMS_AGENT_CONFIG;
  if (chosen) return resolve(chosen);
  return join(xdgDir(env, 'XDG_CONFIG_HOME', ['.config']), 'kms-agent', 'config.toml');
}

/** The Cosmian CLI's own lookup order: its env vars (newest tool first), then ~/.cosmian. */
const COSMIAN_ENV_VARS = ['CKMS_CONF', 'COSMIAN_CLI_CONF', 'KMS_CLI_CONF'];
const COSMIAN_DEFAULT_FILES: CosmianLayout[] = ['ckms.toml', 'cosmian.toml', 'kms.toml', 'kms.json'];

/**
 * The Cosmian CLI config to read as profile `ckms`, or null. A file named by an env var is
 * returned even when missing, so the loader can say that the variable points nowhere.
 */
export function findCosmianConfig(env: Env = process.env): { path: string; kind: CosmianLayout } | null {
  for (const variable of COSMIAN_ENV_VARS) {
    const value = env[variable];
    if (value) {
      const path = resolve(value);
      return { path, kind: cosmianLayoutOf(path) };
    }
  }
  for (const name of COSMIAN_DEFAULT_FILES) {
    const path = join(homeDir(env), '.cosmian', name);
    if (existsSync(path)) return { path, kind: name };
  }
  return null;
}

/** By file name when it is one of the CLI's own; else by contents (a file named by an env var can be called anything). */
function cosmianLayoutOf(path: string): CosmianLayout {
  const name = basename(path);
  if ((COSMIAN_DEFAULT_FILES as string[]).includes(name)) return name as CosmianLayout;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // The loader reports the unreadable file; the guess only has to be plausible.
    return name.endsWith('.json') ? 'kms.json' : 'ckms.toml';
  }
  if (text.trimStart().startsWith('{')) return 'kms.json';
  try {
    return 'kms_config' in parseToml(text) ? 'cosmian.toml' : 'ckms.toml';
  } catch {
    return 'ckms.toml'; // the loader reports the parse error
  }
}
