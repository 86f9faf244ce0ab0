import { isAbsolute } from 'node:path';
import { endpointProblem, isLoopbackHost, REDIRECT_HOSTS } from './endpointRules.js';
import { DEFAULT_REDIRECT_URL } from './profile.js';
import { commaListHint, isScopeToken } from './scopeSyntax.js';
import { DURATION_FORMAT, parseDuration } from './durations.js';

/**
 * The validators of config values: each returns the value typed, or throws Invalid saying what it
 * expected. They know nothing of files; the caller places the complaint (see configError.ts).
 */

/** A validator's complaint; `subKey` narrows it to an entry of a table value (`extra_auth_params.state`). */
export class Invalid extends Error {
  constructor(
    message: string,
    readonly subKey?: string,
  ) {
    super(message);
  }
}

export type Check<T> = (value: unknown) => T;
export type Table = Record<string, unknown>;

export function fail(expected: string, value: unknown, { secret = false } = {}): never {
  // A secret of the wrong type may still be a secret: say only what kind of value it is.
  throw new Invalid(`expected ${expected}, got ${secret ? kindOf(value) : show(value)}`);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object' && value !== null) return 'a table';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** A value as a message may quote it: short strings, numbers and booleans; the kind of anything else. */
export function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return kindOf(value);
}

export function isTable(value: unknown): value is Table {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

export const table: Check<Table> = (v) => (isTable(v) ? v : fail('a table', v));
export const text: Check<string> = (v) =>
  typeof v === 'string' && v !== '' ? v : fail('a non-empty string', v);
// Empty means "no secret" (the Cosmian CLI writes it that way); the profile builder drops it.
export const secret: Check<string> = (v) =>
  typeof v === 'string' ? v : fail('a string', v, { secret: true });
export const flag: Check<boolean> = (v) => (typeof v === 'boolean' ? v : fail('true or false', v));

export function oneOf<T extends string>(...allowed: T[]): Check<T> {
  const expected = `one of ${allowed.map((a) => `"${a}"`).join(', ')}`;
  return (v) => (allowed.includes(v as T) ? (v as T) : fail(expected, v));
}

export const scopes: Check<string[]> = (v) => {
  const names: unknown[] = Array.isArray(v) ? v : [];
  const valid = names.length > 0 && names.every((s) => typeof s === 'string' && isScopeToken(s));
  if (valid) return v as string[];
  const withCommas = names.find((s) => typeof s === 'string' && s.includes(','));
  const hint = withCommas === undefined ? '' : `: ${commaListHint(withCommas as string)}`;
  return fail(`a non-empty array of scope names (strings without spaces or commas)${hint}`, v);
};

/** An endpoint that receives tokens or secrets (see endpointRules.ts). */
export const httpUrl: Check<string> = (v) => {
  const problem = typeof v === 'string' ? endpointProblem(v) : 'an http(s) URL';
  return problem === undefined ? (v as string) : fail(problem, v); // as written: an issuer must match `iss` exactly
};

/**
 * The login listener binds this, so it must be a host it listens on, with a port the provider can
 * register, or 0: a free ephemeral port for each login (RFC 8252 §7.3).
 */
export const redirectUrl: Check<string> = (v) => {
  const url = typeof v === 'string' && URL.canParse(v) ? new URL(v) : undefined;
  // Checked on the text because URL drops an explicit :80.
  const explicitPort = typeof v === 'string' && /^http:\/\/[^/?#]*:\d+(?:[/?#]|$)/i.test(v);
  if (
    !url ||
    url.protocol !== 'http:' ||
    !isLoopbackHost(url.hostname) ||
    !explicitPort ||
    url.hash !== ''
  ) {
    const expected = `a loopback http URL with an explicit port (0: any free port)`;
    return fail(`${expected}, like "${DEFAULT_REDIRECT_URL}"`, v);
  }
  if (!REDIRECT_HOSTS.includes(url.hostname)) {
    const hosts = `${REDIRECT_HOSTS.slice(0, -1).join(', ')} or ${REDIRECT_HOSTS.at(-1)}`;
    return fail(
      `a redirect to ${hosts} (the login listener binds only 127.0.0.1 and ::1: another process could listen on ${url.hostname} and take the code)`,
      v,
    );
  }
  return v;
};

/** A whole number of seconds, up to a year (`max_age`). */
export const seconds: Check<number> = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 365 * 86_400
    ? v
    : fail('a whole number of seconds from 0 to 31536000 (a year)', v);

/** `acr_values`: authentication context class references, separated by spaces (OpenID Connect Core §3.1.2.1). */
export const acrValues: Check<string[]> = (v) => {
  const values = typeof v === 'string' ? v.split(' ').filter(Boolean) : [];
  const valid = values.length > 0 && values.every((value) => /^[\x21-\x7e]+$/.test(value));
  return valid
    ? values
    : fail('acr values separated by spaces, like "urn:mace:incommon:iap:silver"', v);
};

/** A path the user names in the config (store_dir, private_key_file): absolute, or in the home. */
export const homePath: Check<string> = (v) =>
  typeof v === 'string' && (isAbsolute(v) || v.startsWith('~/'))
    ? v
    : fail('an absolute path or one starting with "~/"', v);

/** A duration (durations.ts), as seconds. */
export const duration: Check<number> = (v) => {
  const seconds = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : undefined;
  return seconds ?? fail(`${DURATION_FORMAT}, from 1 s to a year`, v);
};

/** A program to run: an absolute path, or a name looked up in PATH. */
export const program: Check<string> = (v) =>
  typeof v === 'string' && v !== '' && (isAbsolute(v) || !v.includes('/'))
    ? v
    : fail('an absolute path, or a program name found in PATH', v);

export const logLevel = oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent');

export const port: Check<number> = (v) => {
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  return n >= 1 && n <= 65535 ? n : fail('a TCP port number from 1 to 65535', v);
};

/** Authorization request parameters the agent sets itself, and why a profile may not set them. */
const OWN_AUTH_PARAMS: Record<string, string> = {
  response_type: 'the agent always asks for an authorization code',
  client_id: 'set client_id in the profile',
  redirect_uri: 'set redirect_url in the profile',
  scope: 'set scopes in the profile',
  state: 'the agent makes a fresh one for every login, so that no one else can complete it',
  nonce: 'the agent makes a fresh one for every login, so that no one else can complete it',
  code_challenge:
    'the agent makes a fresh PKCE challenge for every login, so that no one else can complete it',
  code_challenge_method: 'the agent always uses PKCE with S256',
  audience: 'set audience in the profile, which also sends it on token requests',
  acr_values: "set acr_values in the profile, which also checks the id_token's acr",
  max_age: "set max_age in the profile, which also checks the id_token's auth_time",
  resource: 'set resource in the profile, which also sends it on token requests',
};

/** extra_auth_params: a table of string values, added to the authorization request (prompt, login_hint, …). */
export const authParams: Check<Record<string, string>> = (v) => {
  const params = table(v);
  for (const [name, value] of Object.entries(params)) {
    const why = Object.hasOwn(OWN_AUTH_PARAMS, name) ? OWN_AUTH_PARAMS[name] : undefined;
    if (why !== undefined) throw new Invalid(`the agent sets "${name}" itself: ${why}`, name);
    if (typeof value !== 'string') throw new Invalid(`expected a string, got ${show(value)}`, name);
  }
  return Object.fromEntries(Object.entries(params)) as Record<string, string>; // a plain object, not TOML's null-prototype one
};
