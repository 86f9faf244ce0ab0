import { basename } from 'node:path';
import { checked, ConfigError, readFields, type Location } from './configError.js';
import type { CosmianLayout } from '../rpc/methods.js';
import { COSMIAN_DEFAULT_FILES } from './configPaths.js';
import { COSMIAN_OAUTH2_KEYS, COSMIAN_PROFILE, type ProfileFields } from './configSchema.js';
import { parseJsonText, parseTomlText, readTrustedFile, type FileText } from './configText.js';
import { isTable, port, show, type Table } from './configValues.js';
import { buildProfile } from './profileBuilder.js';
import { DEFAULT_REDIRECT_URL, type Profile } from './profile.js';

/** Where each Cosmian CLI layout keeps its OAuth settings. */
const OAUTH2_SECTION: Record<CosmianLayout, string[]> = {
  'ckms.toml': ['http_config', 'oauth2_conf'],
  'cosmian.toml': ['kms_config', 'http_config', 'oauth2_conf'],
  'kms.toml': ['kms_config', 'http_config', 'oauth2_conf'],
  'kms.json': ['oauth2_conf'],
};

/** The Cosmian CLI's file as read: its profile `ckms`, undefined when the file has no OAuth section. */
export interface CosmianImport {
  profile: Profile | undefined;
  read: FileText;
}

/**
 * The Cosmian CLI's config as profile `ckms`, or undefined when the file does not exist. It is
 * parsed once, and only ever read: the file belongs to the Cosmian CLI, which keeps much else in it.
 */
export function readCosmianConfig(file: string, env: NodeJS.ProcessEnv): CosmianImport | undefined {
  const read = readTrustedFile(file);
  if (read === undefined) return undefined;
  const { layout, document } = parseCosmian(file, read.text);
  const path = OAUTH2_SECTION[layout];
  let section: unknown = document;
  for (const part of path) section = isTable(section) ? section[part] : undefined;
  if (section === undefined || section === null) return { profile: undefined, read };

  const keyPrefix = `${path.join('.')}.`;
  const at: Location = { file, profile: COSMIAN_PROFILE };
  if (!isTable(section))
    throw new ConfigError(`expected a table, got ${show(section)}`, { ...at, key: path.join('.') });
  const fields: ProfileFields = readFields(section, COSMIAN_OAUTH2_KEYS, at, {
    keyPrefix,
    ignoreUnknown: true,
  });
  const redirectUrl = redirectFromEnv(env, at);
  if (redirectUrl !== undefined) fields.redirect_url = redirectUrl;
  return {
    profile: buildProfile(COSMIAN_PROFILE, fields, { file, kind: layout, keyPrefix }),
    read,
  };
}

/**
 * The layout by file name when it is one of the CLI's own; else by contents, since a file named
 * by an env var can be called anything: JSON is the legacy kms.json, TOML with `kms_config` the
 * nested layout, other TOML the flat ckms.toml one.
 */
function parseCosmian(file: string, text: string): { layout: CosmianLayout; document: Table } {
  const name = basename(file);
  const byName = (COSMIAN_DEFAULT_FILES as string[]).includes(name)
    ? (name as CosmianLayout)
    : undefined;
  if (byName === 'kms.json' || (byName === undefined && text.trimStart().startsWith('{'))) {
    return { layout: 'kms.json', document: parseJsonText(file, text) };
  }
  const document = parseTomlText(file, text);
  return { layout: byName ?? ('kms_config' in document ? 'cosmian.toml' : 'ckms.toml'), document };
}

/** The Cosmian CLI always listens on the default redirect URL; only its port can be changed. */
function redirectFromEnv(env: NodeJS.ProcessEnv, at: Location): string | undefined {
  if (!env.OAUTH2_REDIRECT_URL_PORT) return undefined;
  const redirectPort = checked(port, env.OAUTH2_REDIRECT_URL_PORT, {
    ...at,
    key: 'OAUTH2_REDIRECT_URL_PORT',
    fromEnv: true,
  });
  const url = new URL(DEFAULT_REDIRECT_URL);
  // Built as text because URL would drop an explicit :80.
  return `${url.protocol}//${url.hostname}:${redirectPort}${url.pathname}`;
}
