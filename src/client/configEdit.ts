/**
 * `kms-agent add` writes one profile into the config file and leaves every other byte of it as it
 * was, comments included: the profile is a `[profiles.NAME]` section of text, appended, or (with
 * --force) put in place of that section's text. A new file is created 0600 in a 0700 directory,
 * as the daemon requires of a file that decides where logins are sent (src/config/fileTrust.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tomlString } from '../config/tomlString.js';
import { stageFile } from '../os/atomicFile.js';
import { AgentError } from '../rpc/jsonRpc.js';

export interface ProfileKeys {
  client_id: string;
  issuer: string;
  scopes?: string[] | undefined;
  client_secret?: string | undefined;
  grant?: 'client_credentials' | undefined;
  private_key_file?: string | undefined;
}

/** The comment above each section `add` writes: --force replaces it with its section. */
const ADDED_BY = '# added by kms-agent add';

/** The section's text, with a comment saying where it came from. */
export function profileSection(name: string, keys: ProfileKeys, today = new Date()): string {
  const lines = [
    `${ADDED_BY} on ${today.toISOString().slice(0, 10)}`,
    `[profiles.${name}]`,
    `client_id = ${tomlString(keys.client_id)}`,
    `issuer    = ${tomlString(keys.issuer)}`,
  ];
  if (keys.scopes) lines.push(`scopes    = [${keys.scopes.map(tomlString).join(', ')}]`);
  if (keys.grant !== undefined) lines.push(`grant     = ${tomlString(keys.grant)}`);
  if (keys.client_secret !== undefined)
    lines.push(`client_secret = ${tomlString(keys.client_secret)}`);
  if (keys.private_key_file !== undefined)
    lines.push(`private_key_file = ${tomlString(keys.private_key_file)}`);
  return lines.join('\n') + '\n';
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where `[profiles.NAME]` (and its sub-tables, such as `[profiles.NAME.extra_auth_params]`) is in
 * the lines: from its header to its last line that is not blank or a comment (a comment right above
 * the next section belongs to that one). Undefined when the profile is not written as a section.
 */
function sectionLines(lines: string[], name: string): { start: number; end: number } | undefined {
  const key = `\\s*\\[\\s*profiles\\s*\\.\\s*(?:${escape(name)}|"${escape(name)}"|'${escape(name)}')\\s*`;
  const header = new RegExp(`^${key}\\]\\s*(?:#.*)?$`);
  const subTable = new RegExp(`^${key}\\.[^\\]]*\\]\\s*(?:#.*)?$`);
  const start = lines.findIndex((line) => header.test(line));
  if (start === -1) return undefined;
  let next = start + 1;
  while (next < lines.length && !(/^\s*\[/.test(lines[next]!) && !subTable.test(lines[next]!)))
    next++;
  let end = next - 1;
  while (end > start && /^\s*(#.*)?$/.test(lines[end]!)) end--;
  return { start, end };
}

/**
 * The config text with the profile's section added, or put in place of the old one. `exists` is
 * whether the file already defines the profile (its parsed TOML says so).
 */
export function withProfile(
  text: string,
  name: string,
  section: string,
  exists: boolean,
  file: string,
): string {
  if (!exists) {
    if (text === '') return section;
    const separator = text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    return text + separator + section;
  }
  const lines = text.split('\n');
  const { start, end } = sectionOf(lines, name, file, '--force cannot replace it');
  const replacement = section.replace(/\n$/, '').split('\n');
  return [...lines.slice(0, start), ...replacement, ...lines.slice(end + 1)].join('\n');
}

/**
 * The config text without the profile's section (for `kms-agent remove`), every other byte kept:
 * what `add` appended (the blank line before the section too) goes, so a remove undoes an add.
 */
export function withoutProfile(text: string, name: string, file: string): string {
  const lines = text.split('\n');
  const at = sectionOf(lines, name, file, 'remove cannot take it out');
  const start = at.start > 0 && lines[at.start - 1] === '' ? at.start - 1 : at.start;
  return [...lines.slice(0, start), ...lines.slice(at.end + 1)].join('\n');
}

type Lines = { start: number; end: number };

/**
 * The section's lines, with its own leading comment (written by a previous `add`); a USAGE error,
 * ending in `consequence`, when the profile is not written as a section.
 */
function sectionOf(lines: string[], name: string, file: string, consequence: string): Lines {
  const at = sectionLines(lines, name);
  if (!at) {
    const written = `is not written as a [profiles.${name}] section`;
    const hint = `so ${consequence}: edit it by hand`;
    throw new AgentError('USAGE', `profile ${name} in ${file} ${written}, ${hint}`);
  }
  const withComment = at.start > 0 && lines[at.start - 1]!.startsWith(ADDED_BY);
  return { start: withComment ? at.start - 1 : at.start, end: at.end };
}

/**
 * The config text with `default_profile = "NAME"` as its first line (a top-level key must come
 * before every table), the rest of the text as it was.
 */
export function withDefaultProfile(text: string, name: string): string {
  const why = '# set by kms-agent add when it added a second profile';
  return `default_profile = ${tomlString(name)}   ${why}\n${text}`;
}

type Check = (written: string) => void;
/** The existing file's mode, or undefined for a new file. */
type Mode = number | undefined;

/**
 * Replaces the file in one step (a temporary file renamed over it, once `check` accepted it), keeping
 * its mode; a new file is 0600 and its missing directories 0700. The running agent's watcher sees
 * the rename as an edit.
 */
export function writeConfig(file: string, text: string, mode: Mode, check: Check): void {
  stagedConfig(file, text, mode, check).commit();
}

/**
 * The new text written beside the file and checked, not yet in its place: `commit` renames it over
 * the file, `discard` removes it. What must happen between the two (a logout) happens while the
 * agent still reads the old file.
 */
export function stagedConfig(
  file: string,
  text: string,
  existingMode: Mode,
  check: Check,
): { commit(): void; discard(): void } {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // An existing file keeps its own mode.
  const mode = existingMode === undefined ? 0o600 : existingMode & 0o7777;
  const staged = stageFile(file, text, { mode, durable: false });
  try {
    check(staged.temp);
  } catch (err) {
    staged.discard();
    throw err;
  }
  return staged;
}
