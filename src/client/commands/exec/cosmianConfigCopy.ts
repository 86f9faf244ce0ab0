/**
 * For a ckms that cannot take a header (before 5.17): a private copy of the user's Cosmian CLI
 * config with only its access token replaced by the agent's, for one command (docs/tools.md).
 * It lives in a 0700 directory next to the agent's socket, is 0600, and is removed when the command
 * ends; copies that a killed kms-agent left behind are removed by the next one.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'smol-toml';
import { tomlString } from '../../../config/tomlString.js';
import type { CosmianLayout } from '../../../rpc/methods.js';
import { processAlive } from '../../../os/processAlive.js';
import { privateDirectory } from '../../../os/fileSafety.js';

/** Where each layout keeps the bearer token: beside its oauth2_conf (src/config/cosmianConfig.ts reads that). */
const TOKEN_PLACE: Record<CosmianLayout, { table: string[]; key: string }> = {
  'ckms.toml': { table: ['http_config'], key: 'access_token' },
  'cosmian.toml': { table: ['kms_config', 'http_config'], key: 'access_token' },
  'kms.toml': { table: ['kms_config', 'http_config'], key: 'access_token' },
  'kms.json': { table: [], key: 'kms_access_token' },
};

/**
 * The variables through which the generations of the Cosmian CLI find their config: ckms 5 reads
 * CKMS_CONF_PATH (then CKMS_CONF), `cosmian` COSMIAN_CLI_CONF_PATH (then COSMIAN_CLI_CONF), ckms ≤ 4
 * KMS_CLI_CONF. All name the copy, so whichever this one reads, it reads the copy.
 */
export const CONFIG_PATH_VARIABLES = [
  'CKMS_CONF_PATH',
  'CKMS_CONF',
  'COSMIAN_CLI_CONF_PATH',
  'COSMIAN_CLI_CONF',
  'KMS_CLI_CONF',
];

type Document = Record<string, unknown>;

/** Sets the token in a parsed config, in place, and returns it. */
function withTokenSet(document: Document, layout: CosmianLayout, token: string): Document {
  let table: Document = document;
  for (const name of TOKEN_PLACE[layout].table) {
    const next = table[name];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) table[name] = {};
    table = table[name] as Document;
  }
  table[TOKEN_PLACE[layout].key] = token;
  return document;
}

/**
 * The TOML text with the token's line replaced (or added under its table's header), every other byte
 * kept. Undefined when the file is laid out otherwise (the table written inline, or with dotted keys).
 */
function editTomlLine(text: string, layout: CosmianLayout, token: string): string | undefined {
  const { table, key } = TOKEN_PLACE[layout];
  const header = table.join('.');
  const lines = text.split('\n');
  // A token is base64url and dots, but nothing is assumed.
  const line = `${key} = ${tomlString(token)}`;
  let current: string | undefined = '';
  let headerAt = -1;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*\[/.test(lines[i]!)) {
      // A header; one this reader does not follow (an array of tables, quoted names) ends the search in it.
      const bare = /^\s*\[\s*([A-Za-z0-9_.\s-]+?)\s*\]\s*(?:#.*)?$/.exec(lines[i]!);
      current = bare ? bare[1]!.replace(/\s*\.\s*/g, '.') : undefined;
      if (current === header) headerAt = i;
      continue;
    }
    if (current === header && new RegExp(`^\\s*${key}\\s*=`).test(lines[i]!)) {
      lines[i] = line;
      return lines.join('\n');
    }
  }
  if (headerAt === -1) return undefined;
  lines.splice(headerAt + 1, 0, line);
  return lines.join('\n');
}

/**
 * The config text with only the token changed. TOML is edited in place, and the result must parse
 * to the original plus the token (a multi-line value, say, would not): otherwise it is written anew
 * from the parsed document, which holds the same values.
 */
export function configWithToken(text: string, layout: CosmianLayout, token: string): string {
  if (layout === 'kms.json')
    return (
      JSON.stringify(withTokenSet(JSON.parse(text) as Document, layout, token), null, 4) + '\n'
    );
  const wanted = withTokenSet(parse(text), layout, token);
  const edited = editTomlLine(text, layout, token);
  if (edited !== undefined) {
    try {
      if (isDeepStrictEqual(parse(edited), wanted)) return edited;
    } catch {
      // The edit broke the file: fall through to writing it from the parsed values.
    }
  }
  return stringify(wanted) + '\n';
}

/** `<socket dir>/ckms`, 0700 and ours; a copy of another process that is gone is removed on the way. */
function copiesDirectory(socketDir: string): string {
  const dir = privateDirectory(join(socketDir, 'ckms'));
  for (const entry of readdirSync(dir)) {
    const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid))
      rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return dir;
}

export interface ConfigCopy {
  path: string;
  remove(): void;
}

/** Writes the copy (0600, in a fresh 0700 directory named after this process) and returns its path. */
export function writeConfigCopy(
  socketDir: string,
  source: { path: string; layout: CosmianLayout },
  token: string,
): ConfigCopy {
  const text = configWithToken(readFileSync(source.path, 'utf8'), source.layout, token);
  const dir = join(copiesDirectory(socketDir), `${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const path = join(dir, basename(source.path));
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    remove();
    throw err;
  }
  // The last resort, should the command's own clean-up never run (an uncaught error).
  process.once('exit', remove);
  return { path, remove };
}
