import { join } from 'node:path';
import { checked } from './configError.js';
import { homeDir, resolveStateDir } from '../os/xdgPaths.js';
import { cosmianDefaultPaths, findCosmianConfig, resolveConfigPath } from './configPaths.js';
import { COSMIAN_PROFILE } from './configSchema.js';
import { exposedSecretWarning } from './configText.js';
import { logLevel } from './configValues.js';
import { readCosmianConfig } from './cosmianConfig.js';
import { chooseDefaultProfile } from './defaultProfile.js';
import { readGitHosts } from './gitHosts.js';
import { readOwnConfig } from './ownConfig.js';
import type { AgentConfig, Profile, WatchedFile } from './profile.js';

export { ConfigError } from './configError.js';

export interface LoadOptions {
  /** --config or KMS_AGENT_CONFIG; else the XDG default. */
  configPath?: string | undefined;
  /**
   * True when the user named the config file: then a missing file is an error, not "no profiles
   * yet". Defaults to whether `configPath` or KMS_AGENT_CONFIG is set.
   */
  explicit?: boolean | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * Everything the daemon needs, validated: the agent's config file plus the Cosmian CLI's config as
 * profile `ckms`. Throws ConfigError on any problem. It reads each file once and keeps no state,
 * so a reload is another call; `files` lists what to watch for the next one.
 */
export function loadConfig(options: LoadOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const configPath = resolveConfigPath(options.configPath, env);
  const explicit = options.explicit ?? Boolean(options.configPath || env.KMS_AGENT_CONFIG);
  const warnings: string[] = [];

  const own = readOwnConfig(configPath, { explicit, env });
  const profiles = new Map(own.profiles);
  const files: WatchedFile[] = [
    { path: configPath, role: 'config', exists: own.read !== undefined },
  ];
  if (own.read && hasSecret(own.profiles.values()))
    addWarning(warnings, exposedSecretWarning(configPath, own.read.stat));

  if (profiles.has(COSMIAN_PROFILE)) {
    const cosmian = findCosmianConfig(env);
    if (cosmian)
      warnings.push(
        `profile "${COSMIAN_PROFILE}" in ${configPath} takes precedence over the Cosmian CLI config ${cosmian.path}, which is not read`,
      );
  } else {
    importCosmian(env, { profiles, files, warnings });
  }

  return {
    configPath,
    defaultProfile: chooseDefaultProfile(own.top.default_profile, profiles, configPath),
    profiles,
    git: readGitHosts(own.top.git, profiles, configPath),
    storeDir: own.top.store_dir ? expandHome(own.top.store_dir, env) : resolveStateDir(env),
    logLevel: chooseLogLevel(env.KMS_AGENT_LOG_LEVEL, own.top.log_level, configPath),
    ...(own.top.pinentry_program ? { pinentryProgram: own.top.pinentry_program } : {}),
    warnings,
    files,
  };
}

/** Adds profile `ckms` from the Cosmian CLI's file when there is one, and the files to watch for it. */
function importCosmian(
  env: NodeJS.ProcessEnv,
  into: { profiles: Map<string, Profile>; files: WatchedFile[]; warnings: string[] },
): void {
  const found = findCosmianConfig(env);
  // Until the file is found, each default place that could appear first is worth watching.
  const candidates = found?.named ? [found.path] : cosmianDefaultPaths(env);
  const looked = found ? candidates.slice(0, candidates.indexOf(found.path) + 1) : candidates;
  const cosmian = found ? readCosmianConfig(found.path, env) : undefined;
  for (const path of looked)
    into.files.push({
      path,
      role: 'cosmian',
      exists: cosmian !== undefined && path === found?.path,
    });
  // Only a path named by CKMS_CONF & co. can be missing: findCosmianConfig returns existing defaults.
  if (found && !cosmian)
    into.warnings.push(
      `the Cosmian CLI config ${found.path} does not exist: no profile "${COSMIAN_PROFILE}"`,
    );
  if (!cosmian?.profile) return;
  into.profiles.set(COSMIAN_PROFILE, cosmian.profile);
  if (cosmian.profile.clientSecret)
    addWarning(into.warnings, exposedSecretWarning(cosmian.profile.source, cosmian.read.stat));
}

function hasSecret(profiles: Iterable<Profile>): boolean {
  return [...profiles].some((p) => p.clientSecret);
}

function addWarning(warnings: string[], warning: string | undefined): void {
  if (warning) warnings.push(warning);
}

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path.startsWith('~/') ? join(homeDir(env), path.slice(2)) : path;
}

/** KMS_AGENT_LOG_LEVEL overrides log_level, so one run can be debugged without editing the file. */
function chooseLogLevel(
  fromEnv: string | undefined,
  fromFile: string | undefined,
  file: string,
): string {
  if (!fromEnv) return fromFile ?? 'info';
  return checked(logLevel, fromEnv, { file, key: 'KMS_AGENT_LOG_LEVEL', fromEnv: true });
}
