import { ConfigError, type Location } from './configError.js';
import type { ProfileFields } from './configSchema.js';
import { isLoopbackHttp } from './endpointRules.js';
import {
  DEFAULT_REDIRECT_URL,
  DEFAULT_SCOPES,
  PROFILE_ENDPOINTS,
  type Profile,
  type ProfileSourceKind,
  type ServedKind,
} from './profile.js';
import { storeKeyOf } from './storeKey.js';
import { checkGrantRules, clientAuthentication } from './grantRules.js';
import { homeDir } from '../os/xdgPaths.js';

/** Where the fields came from: the file, its kind, and where the section sits in it (Cosmian files nest it). */
export interface ProfileOrigin {
  file: string;
  kind: ProfileSourceKind;
  keyPrefix?: string;
  /** For `~/` in paths (private_key_file); default $HOME. */
  home?: string;
}

/**
 * A profile from its validated fields: the rules that span keys, the defaults, and what is
 * derived once here (the kind of token served, plain http, the store key) instead of on each use.
 */
export function buildProfile(name: string, fields: ProfileFields, origin: ProfileOrigin): Profile {
  const at = (key: string): Location => ({
    file: origin.file,
    profile: name,
    key: (origin.keyPrefix ?? '') + key,
  });
  const clientId = required(fields.client_id, at('client_id'), 'required');
  const grant = fields.grant ?? 'authorization_code';
  if (fields.issuer === undefined) {
    const why = origin.kind === 'config' ? 'required unless issuer is set' : 'required'; // Cosmian files have no issuer
    // The client credentials grant uses no authorization endpoint.
    if (grant === 'authorization_code') required(fields.authorize_url, at('authorize_url'), why);
    required(fields.token_url, at('token_url'), why);
  }
  const auth = clientAuthentication(fields, at, origin.home ?? homeDir());
  checkGrantRules(fields, auth.method, at);
  // A service asks for the scopes it names, or none: the login's defaults mean nothing to it.
  const scopes = fields.scopes ?? (grant === 'client_credentials' ? [] : [...DEFAULT_SCOPES]);
  const token = fields.token ?? 'auto';
  if (token === 'id' && !scopes.includes('openid')) {
    throw new ConfigError(
      '"id" needs "openid" in scopes: without it the provider issues no id_token',
      at('token'),
    );
  }

  const profile = withoutUndefined({
    name,
    source: origin.file,
    sourceKind: origin.kind,
    clientId,
    clientSecret: auth.clientSecret,
    tokenEndpointAuthMethod: auth.method,
    privateKeyFile: auth.privateKeyFile,
    grant,
    dpop: fields.dpop ?? false,
    issuer: fields.issuer,
    authorizeUrl: fields.authorize_url,
    tokenUrl: fields.token_url,
    revocationUrl: fields.revocation_url,
    deviceAuthorizationUrl: fields.device_authorization_url,
    redirectUrl: fields.redirect_url ?? DEFAULT_REDIRECT_URL,
    scopes,
    audience: fields.audience,
    resource: fields.resource,
    extraAuthParams: fields.extra_auth_params ?? {},
    acrValues: fields.acr_values,
    maxAge: fields.max_age,
    token,
    servedKind:
      grant === 'client_credentials' || fields.dpop
        ? 'access'
        : servedKind(token, scopes, fields.audience ?? fields.resource),
    tokenFile: fields.token_file ?? false,
    store: fields.store ?? 'keychain',
    maxLifetime: fields.max_lifetime,
    confirm: fields.confirm ?? false,
    tokenExchange: fields.token_exchange ?? false,
  });
  return {
    ...profile,
    allowHttp: PROFILE_ENDPOINTS.some(
      (field) => profile[field] !== undefined && isLoopbackHttp(profile[field]),
    ),
    storeKey: storeKeyOf(profile),
  };
}

function required<T>(value: T | undefined, where: Location, why: string): T {
  if (value === undefined) throw new ConfigError(`missing (${why})`, where);
  return value;
}

/**
 * `token = "auto"`: the id_token when the profile asks for `openid` and names no audience or
 * resource (what the Cosmian CLI sends and the KMS verifies), else the access token, which is
 * the one a resource server checks.
 */
function servedKind(
  token: Profile['token'],
  scopes: string[],
  audienceOrResource: string | undefined,
): ServedKind {
  if (token !== 'auto') return token;
  return scopes.includes('openid') && audienceOrResource === undefined ? 'id' : 'access';
}

/** The object without its undefined values, typed so: a key that may be undefined becomes optional. */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

function withoutUndefined<T extends object>(object: T): Defined<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, v]) => v !== undefined),
  ) as Defined<T>;
}
