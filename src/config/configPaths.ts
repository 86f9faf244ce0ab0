/**
 * Where the config files are (docs/configuration.md), for the agent and for a client about to start
 * one (src/client/fast/nothingToServe.ts), so that both look in the same places.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { COSMIAN_LAYOUTS, type CosmianLayout } from '../rpc/methods.js';
import { homeDir, xdgDir } from '../os/xdgPaths.js';

type Env = NodeJS.ProcessEnv;

/** --config, then KMS_AGENT_CONFIG, then $XDG_CONFIG_HOME/kms-agent/config.toml. */
export function resolveConfigPath(flag?: string, env: Env = process.env): string {
  const chosen = flag || env.KMS_AGENT_CONFIG;
  if (chosen) return resolve(chosen);
  return join(xdgDir(env, 'XDG_CONFIG_HOME', ['.config']), 'kms-agent', 'config.toml');
}

/** The Cosmian CLI's own lookup order: its env vars (newest tool first), then ~/.cosmian. */
const COSMIAN_ENV_VARS = ['CKMS_CONF', 'COSMIAN_CLI_CONF', 'KMS_CLI_CONF'];
export const COSMIAN_DEFAULT_FILES: readonly CosmianLayout[] = COSMIAN_LAYOUTS;

/** The default places of the Cosmian CLI config, in the order it looks at them. */
export function cosmianDefaultPaths(env: Env = process.env): string[] {
  return COSMIAN_DEFAULT_FILES.map((name) => join(homeDir(env), '.cosmian', name));
}

/**
 * The Cosmian CLI config to read as profile `ckms`, or null. A file named by an env var (`named`)
 * is returned even when missing, so the loader can say that the variable points nowhere.
 */
export function findCosmianConfig(env: Env = process.env): { path: string; named: boolean } | null {
  for (const variable of COSMIAN_ENV_VARS) {
    const value = env[variable];
    if (value) return { path: resolve(value), named: true };
  }
  const path = cosmianDefaultPaths(env).find((candidate) => existsSync(candidate));
  return path === undefined ? null : { path, named: false };
}

/** What a command that needs a profile is told when the config has none. */
export function noProfileConfigured(file: string): string {
  const add = '`kms-agent add NAME --issuer URL --client-id ID`';
  const cosmian = "the Cosmian CLI's ckms.toml";
  return `no profile is configured in ${file}: add one with ${add}, or set up ${cosmian}`;
}
