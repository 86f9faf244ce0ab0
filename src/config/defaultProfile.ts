import { ConfigError } from './configError.js';
import { noProfileConfigured } from './configPaths.js';
import type { AgentConfig, Profile } from './profile.js';

/**
 * The profile used when a command names none: default_profile, else the only profile, else one
 * named "default". Undefined when none of these applies; noProfileChosen then says what to do.
 */
export function chooseDefaultProfile(
  named: string | undefined,
  profiles: Map<string, Profile>,
  file: string,
): string | undefined {
  if (named !== undefined) {
    if (profiles.has(named)) return named;
    const known = [...profiles.keys()].join(', ') || 'none';
    throw new ConfigError(`no profile named "${named}" (known profiles: ${known})`, {
      file,
      key: 'default_profile',
    });
  }
  if (profiles.size === 1) return [...profiles.keys()][0];
  return profiles.has('default') ? 'default' : undefined;
}

/**
 * What a reload says when it leaves several profiles and no default: commands that name none would
 * now fail, where they may have worked before the edit.
 */
export function ambiguousDefault(config: AgentConfig) {
  if (config.defaultProfile !== undefined || config.profiles.size < 2) return undefined;
  const names = [...config.profiles.keys()].join(', ');
  const fix = `set default_profile in ${config.configPath}`;
  const fail = 'commands without --profile now fail';
  return `several profiles (${names}) and no default_profile: ${fail}; ${fix}`;
}

/** The one-line error for a command that named no profile when the config has no default one. */
export function noProfileChosen(config: Pick<AgentConfig, 'configPath' | 'profiles'>): string {
  const names = [...config.profiles.keys()];
  if (names.length === 0) return noProfileConfigured(config.configPath);
  return `several profiles (${names.join(', ')}): pick one with --profile or set default_profile in ${config.configPath}`;
}
