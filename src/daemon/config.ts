import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { findCosmianConfig, homeDir, resolveConfigPath, resolveStateDir, type CosmianLayout } from './configPaths.js';
import { DEFAULT_REDIRECT_URL, DEFAULT_SCOPES, type AgentConfig, type Profile, type ProfileSourceKind } from './profile.js';

/** Where a problem is: the file, and within it the profile and the key (or the environment variable). */
interface Location {
  file: string;
  profile?: string;
  key?: string;
  fromEnv?: boolean;
}

/** One line naming the file, the profile and the key, and what was expected: the agent refuses to start on it. */
export class ConfigError extends Error {
  readonly file: string;
  readonly profile?: string;
  readonly key?: string;

  constructor(problem: string, at: Location) {
    const profile = at.profile === undefined ? '' : `: profile "${at.profile}"`;
    const key = at.key === undefined ? '' : at.fromEnv ? `: environment variable ${at.key}` : `: key "${at.key}"`;
    super(`config ${at.file}${profile}${key}: ${problem}`);
    this.name = 'ConfigError';
    this.file = at.file;
    this.profile = at.profile;
    this.key = at.key;
  }
}

// ---- validators: each returns the value typed, or throws Invalid saying what it expected ----

/** A validator's complaint; the caller knows where it is and turns it into a ConfigError. */
class Invalid extends Error {}

type Check<T> = (value: unknown) => T;
type Table = Record<string, unknown>;

function fail(expected: string, value: unknown, { secret = false } = {}): never {
  // A secret of the wrong type may still be a secret: say only what kind of value it is.
  throw new Invalid(`expected ${expected}, got ${secret ? kindOf(value) : show(value)}`);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object' && value !== null) return 'a table';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return kindOf(value);
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

const table: Check<Table> = (v) => (isTable(v) ? v : fail('a table', v));
const text: Check<string> = (v) => (typeof v === 'string' && v !== '' ? v : fail('a non-empty string', v));
// Empty means "no secret" (the Cosmian CLI writes it that way); the profile builder drops it.
const secret: Check<string> = (v) => (typeof v === 'string' ? v : fail('a string', v, { secret: true }));

function oneOf<T extends string>(...allowed: T[]): Check<T> {
  const expected = `one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
  return (v) => (allowed.includes(v as T) ? (v as T) : fail(expected, v));
}

// RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const scopes: Check<string[]> = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))
    ? (v as string[])
    : fail('a non-empty array of scope names (strings without spaces)', v);

function parseUrl(value: unknown): URL | undefined {
  try {
    return typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** An endpoint: https, or plain http to this machine only, since tokens and secrets would otherwise cross the network in clear. */
const httpUrl: Check<string> = (v) => {
  const url = parseUrl(v);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return fail('an http(s) URL', v);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    return fail('an https URL (plain http only to localhost, 127.0.0.0/8 or ::1: tokens would travel in clear)', v);
  }
  return v as string; // as written: an issuer must match the token's `iss` claim character for character
};

/** The login listener binds this, so it must be loopback with a port it can bind and the provider can register. */
const redirectUrl: Check<string> = (v) => {
  const url = parseUrl(v);
  // Checked on the text because URL drops an explicit :80.
  const explicitPort = typeof v === 'string' && /^http:\/\/[^/?#]*:\d+(?:[/?#]|$)/i.test(v);
  return url && url.protocol === 'http:' && isLoopback(url.hostname) && explicitPort && url.hash === ''
    ? (v as string)
    : fail(`a loopback http URL with an explicit port, like "${DEFAULT_REDIRECT_URL}"`, v);
};

const storeDir: Check<string> = (v) =>
  typeof v === 'string' && (isAbsolute(v) || v.startsWith('~/')) ? v : fail('an absolute path or one starting with "~/"', v);

const logLevel = oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent');

const port: Check<number> = (v) => {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  return n >= 1 && n <= 65535 ? n : fail('a TCP port number from 1 to 65535', v);
};

// ---- the keys each file may hold ----

const TOP_LEVEL_KEYS = { default_profile: text, store_dir: storeDir, log_level: logLevel, profiles: table };

const PROFILE_KEYS = {
  client_id: text,
  client_secret: secret,
  token_endpoint_auth_method: oneOf('none', 'client_secret_basic', 'client_secret_post'),
  issuer: httpUrl,
  authorize_url: httpUrl,
  token_url: httpUrl,
  revocation_url: httpUrl,
  device_authorization_url: httpUrl,
  redirect_url: redirectUrl,
  scopes,
  audience: text,
  resource: text,
  token: oneOf('auto', 'access', 'id'),
  store: oneOf('keychain', 'file', 'memory'),
};

/** What a Cosmian CLI `oauth2_conf` holds; any other key there belongs to the Cosmian CLI and is left alone. */
const COSMIAN_OAUTH2_KEYS = { client_id: text, client_secret: secret, authorize_url: httpUrl, token_url: httpUrl, scopes };

/** Where each Cosmian CLI layout keeps its OAuth settings. */
const OAUTH2_SECTION: Record<CosmianLayout, string[]> = {
  'ckms.toml': ['http_config', 'oauth2_conf'],
  'cosmian.toml': ['kms_config', 'http_config', 'oauth2_conf'],
  'kms.toml': ['kms_config', 'http_config', 'oauth2_conf'],
  'kms.json': ['oauth2_conf'],
};

// Profile names become keychain accounts and file names in the store directory.
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COSMIAN_PROFILE = 'ckms';

type Shape = Record<string, Check<unknown>>;
type Fields<S extends Shape> = { [K in keyof S]?: ReturnType<S[K]> };
type ProfileFields = Fields<typeof PROFILE_KEYS>;

/** Runs one validator, placing its complaint at `where`. */
function checked<T>(check: Check<T>, value: unknown, where: Location): T {
  try {
    return check(value);
  } catch (err) {
    throw err instanceof Invalid ? new ConfigError(err.message, where) : err;
  }
}

/**
 * Checks every key of `source` against `shape`. `keyPrefix` names the section in messages
 * (Cosmian files nest it deep); unknown keys are errors unless the file is someone else's.
 */
function readFields<S extends Shape>(
  source: Table,
  shape: S,
  at: Location,
  { keyPrefix = '', ignoreUnknown = false } = {},
): Fields<S> {
  const fields: Fields<S> = {};
  for (const [key, value] of Object.entries(source)) {
    const where = { ...at, key: keyPrefix + key };
    if (!Object.hasOwn(shape, key)) {
      if (ignoreUnknown) continue;
      throw new ConfigError(`unknown key (known keys: ${Object.keys(shape).join(', ')})`, where);
    }
    if (value === null) continue; // serde writes an absent Option as null in kms.json
    fields[key as keyof S] = checked(shape[key]!, value, where) as ReturnType<S[keyof S]>;
  }
  return fields;
}

/** Cross-key rules and defaults, the same for both kinds of file. */
function buildProfile(
  name: string,
  fields: ProfileFields,
  origin: { file: string; kind: ProfileSourceKind; keyPrefix?: string },
): Profile {
  const at = (key: string): Location => ({ file: origin.file, profile: name, key: (origin.keyPrefix ?? '') + key });
  const required = <T>(value: T | undefined, key: string, why = 'required'): T => {
    if (value === undefined) throw new ConfigError(`missing (${why})`, at(key));
    return value;
  };

  const clientId = required(fields.client_id, 'client_id');
  if (fields.issuer === undefined) {
    const why = origin.kind === 'config' ? 'required unless issuer is set' : 'required'; // Cosmian files have no issuer
    required(fields.authorize_url, 'authorize_url', why);
    required(fields.token_url, 'token_url', why);
  }
  const clientSecret = fields.client_secret || undefined;
  const method = fields.token_endpoint_auth_method ?? (clientSecret ? 'client_secret_basic' : 'none');
  if (method !== 'none' && !clientSecret) {
    throw new ConfigError(`"${method}" needs a client_secret; set one or use "none"`, at('token_endpoint_auth_method'));
  }

  const scopesList = fields.scopes ?? [...DEFAULT_SCOPES];
  const token = fields.token ?? 'auto';
  const endpoints = [fields.issuer, fields.authorize_url, fields.token_url, fields.revocation_url, fields.device_authorization_url];
  return withoutUndefined({
    name,
    source: origin.file,
    sourceKind: origin.kind,
    clientId,
    clientSecret,
    tokenEndpointAuthMethod: method,
    issuer: fields.issuer,
    authorizeUrl: fields.authorize_url,
    tokenUrl: fields.token_url,
    revocationUrl: fields.revocation_url,
    deviceAuthorizationUrl: fields.device_authorization_url,
    redirectUrl: fields.redirect_url ?? DEFAULT_REDIRECT_URL,
    scopes: scopesList,
    audience: fields.audience,
    resource: fields.resource,
    token,
    servedKind: token === 'auto' ? (scopesList.includes('openid') && !fields.audience && !fields.resource ? 'id' : 'access') : token,
    store: fields.store ?? 'keychain',
    extraAuthParams: {},
    tokenFile: false,
    allowHttp: endpoints.some((u) => u !== undefined && new URL(u).protocol === 'http:'),
    storeKey: `${name}/${clientId}@${fields.issuer ?? fields.token_url}#${createHash('sha256').update(JSON.stringify(endpoints)).digest('hex').slice(0, 12)}`,
  });
}

function withoutUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

// ---- reading files ----

/** The file's text, or undefined when it does not exist; any other failure stops the agent. */
function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read the file (${code ?? (err as Error).message})`, { file });
  }
}

function parseTomlText(file: string, source: string): Table {
  try {
    return parseToml(source);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new ConfigError(`invalid TOML at line ${err.line}, column ${err.column}: ${reason}`, { file });
  }
}

function parseJsonText(file: string, source: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    // V8 reports a character offset; people look for lines.
    const message = (err as Error).message;
    const offset = /at position (\d+)/.exec(message);
    const lines = offset ? source.slice(0, Number(offset[1])).split('\n') : undefined;
    const where = lines ? ` at line ${lines.length}, column ${lines.at(-1)!.length + 1}` : '';
    throw new ConfigError(`invalid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`, { file });
  }
  if (!isTable(value)) throw new ConfigError('invalid JSON: expected an object at the top level', { file });
  return value;
}

/** A warning when a file holding a client_secret can be read by other users. */
function exposedSecretWarning(file: string): string | undefined {
  if (process.platform === 'win32') return undefined; // no POSIX mode bits to judge by
  if ((statSync(file).mode & 0o044) === 0) return undefined;
  return `${file} holds a client_secret and is readable by group or others: run chmod 600 ${file}`;
}

interface OwnConfig {
  top: Fields<typeof TOP_LEVEL_KEYS>;
  profiles: Map<string, Profile>;
}

/** kms-agent's own config.toml; a missing file is an empty one. */
function readOwnConfig(file: string): OwnConfig {
  const source = readIfExists(file);
  if (source === undefined) return { top: {}, profiles: new Map() };
  const top = readFields(parseTomlText(file, source), TOP_LEVEL_KEYS, { file });
  const profiles = new Map<string, Profile>();
  for (const [name, value] of Object.entries(top.profiles ?? {})) {
    if (!PROFILE_NAME.test(name)) {
      throw new ConfigError('invalid profile name: use letters, digits, ".", "_" and "-", starting with a letter or digit', {
        file,
        profile: name,
      });
    }
    if (!isTable(value)) throw new ConfigError(`expected a table [profiles.${name}], got ${show(value)}`, { file, profile: name });
    const fields = readFields(value, PROFILE_KEYS, { file, profile: name });
    profiles.set(name, buildProfile(name, fields, { file, kind: 'config' }));
  }
  return { top, profiles };
}

/**
 * The Cosmian CLI's config as profile `ckms`, or undefined when the file has no OAuth section.
 * It is only ever read: the file belongs to the Cosmian CLI, which keeps much else in it.
 */
function cosmianProfile(file: string, kind: CosmianLayout, source: string, env: NodeJS.ProcessEnv): Profile | undefined {
  const document = kind === 'kms.json' ? parseJsonText(file, source) : parseTomlText(file, source);

  const path = OAUTH2_SECTION[kind];
  let section: unknown = document;
  for (const part of path) section = isTable(section) ? section[part] : undefined;
  if (section === undefined || section === null) return undefined;

  const keyPrefix = `${path.join('.')}.`;
  const at: Location = { file, profile: COSMIAN_PROFILE };
  if (!isTable(section)) throw new ConfigError(`expected a table, got ${show(section)}`, { ...at, key: path.join('.') });
  const fields: ProfileFields = readFields(section, COSMIAN_OAUTH2_KEYS, at, { keyPrefix, ignoreUnknown: true });

  // The Cosmian CLI always listens on the default redirect URL; only its port can be changed.
  if (env.OAUTH2_REDIRECT_URL_PORT) {
    const redirectPort = checked(port, env.OAUTH2_REDIRECT_URL_PORT, { ...at, key: 'OAUTH2_REDIRECT_URL_PORT', fromEnv: true });
    const url = new URL(DEFAULT_REDIRECT_URL);
    // Built as text because URL would drop an explicit :80.
    fields.redirect_url = `${url.protocol}//${url.hostname}:${redirectPort}${url.pathname}`;
  }
  return buildProfile(COSMIAN_PROFILE, fields, { file, kind, keyPrefix });
}

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path.startsWith('~/') ? join(homeDir(env), path.slice(2)) : path;
}

/**
 * Everything the daemon needs, validated: the agent's config file (--config, KMS_AGENT_CONFIG or the
 * XDG default) plus the Cosmian CLI's config as profile `ckms`. Throws ConfigError on any problem.
 */
export function loadConfig(options: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): AgentConfig {
  const env = options.env ?? process.env;
  const configPath = resolveConfigPath(options.configPath, env);
  const warnings: string[] = [];

  const own = readOwnConfig(configPath);
  const profiles = new Map(own.profiles);
  if ([...own.profiles.values()].some((p) => p.clientSecret)) {
    const warning = exposedSecretWarning(configPath);
    if (warning) warnings.push(warning);
  }

  const cosmian = findCosmianConfig(env);
  if (cosmian && profiles.has(COSMIAN_PROFILE)) {
    warnings.push(`profile "${COSMIAN_PROFILE}" in ${configPath} takes precedence over the Cosmian CLI config ${cosmian.path}, which is not read`);
  } else if (cosmian) {
    const source = readIfExists(cosmian.path);
    // Only a path named by CKMS_CONF & co. can be missing: findCosmianConfig returns existing defaults.
    if (source === undefined) warnings.push(`the Cosmian CLI config ${cosmian.path} does not exist: no profile "${COSMIAN_PROFILE}"`);
    const profile = source === undefined ? undefined : cosmianProfile(cosmian.path, cosmian.kind, source, env);
    if (profile) profiles.set(COSMIAN_PROFILE, profile);
    if (profile?.clientSecret) {
      const warning = exposedSecretWarning(cosmian.path);
      if (warning) warnings.push(warning);
    }
  }

  return {
    configPath,
    defaultProfile: chooseDefaultProfile(own.top.default_profile, profiles, configPath),
    profiles,
    storeDir: own.top.store_dir ? expandHome(own.top.store_dir, env) : resolveStateDir(env),
    logLevel: chooseLogLevel(env.KMS_AGENT_LOG_LEVEL, own.top.log_level, configPath),
    warnings,
  };
}

/** default_profile, else the only profile, else "default" (SPEC §3). */
function chooseDefaultProfile(named: string | undefined, profiles: Map<string, Profile>, file: string): string {
  if (named !== undefined) {
    if (profiles.has(named)) return named;
    const known = [...profiles.keys()].join(', ') || 'none';
    throw new ConfigError(`no profile named "${named}" (known profiles: ${known})`, { file, key: 'default_profile' });
  }
  return profiles.size === 1 ? [...profiles.keys()][0]! : 'default';
}

/** KMS_AGENT_LOG_LEVEL overrides log_level, so one run can be debugged without editing the file. */
function chooseLogLevel(fromEnv: string | undefined, fromFile: string | undefined, file: string): string {
  if (!fromEnv) return fromFile ?? 'info';
  return checked(logLevel, fromEnv, { file, key: 'KMS_AGENT_LOG_LEVEL', fromEnv: true });
}
