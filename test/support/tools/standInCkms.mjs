#!/usr/bin/env node
// A stand-in for the Cosmian CLI `ckms` (the real one cannot be installed on these machines), on PATH
// as `ckms`. `ckms --version` prints "ckms $STAND_IN_CKMS_VERSION" ("none": prints nothing and fails,
// as a program that cannot tell). Any other command line appends one JSON line to $STAND_IN_LOG
// describing what ckms would read, never the token itself: its arguments; the SHA-256 of the value of
// CLI_HEADER's `Authorization: Bearer` header; each config variable and what the file it names holds
// (mode, its directory's mode, owner, the SHA-256 of the token in it, and the rest of the document);
// the text of the config file ckms 5 would read. $STAND_IN_SLEEP_MS keeps it running (after a
// line {"ready": true}), for the signal tests; it exits with $STAND_IN_EXIT (default 0).
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const args = process.argv.slice(2);
const log = (entry) => appendFileSync(process.env.STAND_IN_LOG, JSON.stringify(entry) + '\n');

if (args[0] === '--version') {
  const version = process.env.STAND_IN_CKMS_VERSION ?? 'none';
  if (version === 'none') process.exit(1);
  process.stdout.write(`ckms ${version}\n`);
  process.exit(0);
}

/** Where each layout keeps the token, as the Cosmian CLI reads it. */
function tokenOf(document, path) {
  if (path.endsWith('.json')) return document.kms_access_token;
  return document.kms_config?.http_config?.access_token ?? document.http_config?.access_token;
}

function withoutToken(document, path) {
  const copy = structuredClone(document);
  if (path.endsWith('.json')) delete copy.kms_access_token;
  else if (copy.kms_config?.http_config) delete copy.kms_config.http_config.access_token;
  else if (copy.http_config) delete copy.http_config.access_token;
  return copy;
}

function describeFile(path) {
  if (!existsSync(path)) return { path, exists: false };
  const text = readFileSync(path, 'utf8');
  const document = path.endsWith('.json')
    ? JSON.parse(text)
    : JSON.parse(JSON.stringify(parse(text)));
  const token = tokenOf(document, path);
  const st = statSync(path);
  return {
    path,
    exists: true,
    mode: st.mode & 0o777,
    dirMode: statSync(dirname(path)).mode & 0o777,
    uid: st.uid,
    tokenSha256: typeof token === 'string' ? sha256(token) : null,
    rest: withoutToken(document, path),
    lines: text.split('\n').map((line) => (token && line.includes(token) ? '<TOKEN LINE>' : line)),
  };
}

const header = process.env.CLI_HEADER;
const bearer = header === undefined ? undefined : /^Authorization: Bearer (\S+)$/.exec(header)?.[1];
const variables = {};
for (const name of [
  'CKMS_CONF_PATH',
  'CKMS_CONF',
  'COSMIAN_CLI_CONF_PATH',
  'COSMIAN_CLI_CONF',
  'KMS_CLI_CONF',
]) {
  if (process.env[name] !== undefined) variables[name] = describeFile(process.env[name]);
}
const ckms5Reads =
  process.env.CKMS_CONF_PATH ?? process.env.CKMS_CONF ?? join(homedir(), '.cosmian', 'ckms.toml');
log({
  pid: process.pid,
  ppid: process.ppid,
  args,
  cliHeader:
    header === undefined ? null : bearer ? { bearerSha256: sha256(bearer) } : { other: true },
  variables,
  ckms5Reads: describeFile(ckms5Reads),
});

const sleepMs = Number(process.env.STAND_IN_SLEEP_MS ?? 0);
if (sleepMs > 0) {
  log({ ready: true, pid: process.pid });
  setTimeout(() => process.exit(Number(process.env.STAND_IN_EXIT ?? 0)), sleepMs);
} else {
  process.exit(Number(process.env.STAND_IN_EXIT ?? 0));
}
