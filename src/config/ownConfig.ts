import { missingNamedConfig } from './namedConfig.js';
import { ConfigError, readFields, type Fields } from './configError.js';
import { PROFILE_KEYS, PROFILE_NAME, TOP_LEVEL_KEYS } from './configSchema.js';
import { parseTomlText, readTrustedFile, type FileText } from './configText.js';
import { isTable, show } from './configValues.js';
import { buildProfile } from './profileBuilder.js';
import type { Profile } from './profile.js';
import { homeDir } from '../os/xdgPaths.js';

/** kms-agent's own config.toml, validated; `read` is undefined when the file does not exist. */
export interface OwnConfig {
  top: Fields<typeof TOP_LEVEL_KEYS>;
  profiles: Map<string, Profile>;
  read: FileText | undefined;
}

/**
 * Reads and checks the agent's config file. A missing file is an empty config when the path is the
 * default one (no profiles yet), and an error when the user named it (--config, KMS_AGENT_CONFIG).
 */
export function readOwnConfig(
  file: string,
  { explicit, env = process.env }: { explicit: boolean; env?: NodeJS.ProcessEnv },
): OwnConfig {
  const read = readTrustedFile(file);
  if (read === undefined) {
    if (explicit) throw new ConfigError(missingNamedConfig(file), { file });
    return { top: {}, profiles: new Map(), read };
  }
  const top = readFields(parseTomlText(file, read.text), TOP_LEVEL_KEYS, { file });
  const profiles = new Map<string, Profile>();
  for (const [name, value] of Object.entries(top.profiles ?? {})) {
    if (!PROFILE_NAME.test(name)) {
      throw new ConfigError(
        'invalid profile name: use letters, digits, ".", "_" and "-", starting with a letter or digit',
        {
          file,
          profile: name,
        },
      );
    }
    if (!isTable(value))
      throw new ConfigError(`expected a table [profiles.${name}], got ${show(value)}`, {
        file,
        profile: name,
      });
    const fields = readFields(value, PROFILE_KEYS, { file, profile: name });
    profiles.set(name, buildProfile(name, fields, { file, kind: 'config', home: homeDir(env) }));
  }
  return { top, profiles, read };
}
