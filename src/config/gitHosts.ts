import { ConfigError, readFields } from './configError.js';
import { GIT_HOST_KEYS } from './configSchema.js';
import { isTable, show, type Table } from './configValues.js';
import type { GitHost, Profile } from './profile.js';

/**
 * GitLab and Gitea take an OAuth token over https only with this username; GitHub and most others
 * accept any non-empty one. So it is the default that works with the most hosts.
 */
export const DEFAULT_GIT_USERNAME = 'oauth2';

/** A host as git's credential protocol reports it: a name or an address, then `:port` when not the default. */
const GIT_HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::\d{1,5})?$/;

/**
 * The `[git]` table: host → profile and username. Hosts are matched in lower case (DNS names are
 * case-insensitive), so callers look up git's `host` lower-cased. Every profile named must exist.
 */
export function readGitHosts(
  git: Table | undefined,
  profiles: Map<string, Profile>,
  file: string,
): Map<string, GitHost> {
  const hosts = new Map<string, GitHost>();
  for (const [written, entry] of Object.entries(git ?? {})) {
    const host = written.toLowerCase();
    const key = `git.${JSON.stringify(written)}`;
    if (!GIT_HOST.test(host)) {
      throw new ConfigError(
        'expected a host as git names it: "host" or "host:port", like "gitlab.example.com"',
        { file, key },
      );
    }
    if (hosts.has(host))
      throw new ConfigError(`"${host}" is configured twice (host names ignore case)`, {
        file,
        key,
      });
    if (!isTable(entry))
      throw new ConfigError(`expected a table [${key}], got ${show(entry)}`, { file, key });
    const fields = readFields(entry, GIT_HOST_KEYS, { file }, { keyPrefix: `${key}.` });
    if (fields.profile === undefined)
      throw new ConfigError('missing (required)', { file, key: `${key}.profile` });
    if (!profiles.has(fields.profile)) {
      const known = [...profiles.keys()].join(', ') || 'none';
      throw new ConfigError(`no profile named "${fields.profile}" (known profiles: ${known})`, {
        file,
        key: `${key}.profile`,
      });
    }
    hosts.set(host, { profile: fields.profile, username: fields.username ?? DEFAULT_GIT_USERNAME });
  }
  return hosts;
}
