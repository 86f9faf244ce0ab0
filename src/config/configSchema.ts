import { GRANTS, STORE_KINDS, TOKEN_KINDS } from '../rpc/methods.js';
import type { Fields } from './configError.js';
import { TOKEN_ENDPOINT_AUTH_METHODS } from './profile.js';
import {
  acrValues,
  authParams,
  duration,
  flag,
  homePath,
  httpUrl,
  logLevel,
  oneOf,
  program,
  redirectUrl,
  scopes,
  seconds,
  secret,
  table,
  text,
} from './configValues.js';

/** The keys each kind of file or section may hold, with the validator of each. */

export const TOP_LEVEL_KEYS = {
  default_profile: text,
  store_dir: homePath,
  log_level: logLevel,
  pinentry_program: program,
  profiles: table,
  git: table,
};

export const PROFILE_KEYS = {
  client_id: text,
  client_secret: secret,
  token_endpoint_auth_method: oneOf(...TOKEN_ENDPOINT_AUTH_METHODS),
  issuer: httpUrl,
  authorize_url: httpUrl,
  token_url: httpUrl,
  revocation_url: httpUrl,
  device_authorization_url: httpUrl,
  redirect_url: redirectUrl,
  scopes,
  audience: text,
  resource: text,
  extra_auth_params: authParams,
  token: oneOf(...TOKEN_KINDS),
  token_file: flag,
  store: oneOf(...STORE_KINDS),
  acr_values: acrValues,
  max_age: seconds,
  grant: oneOf(...GRANTS),
  private_key_file: homePath,
  dpop: flag,
  max_lifetime: duration,
  confirm: flag,
  token_exchange: flag,
};

export type ProfileFields = Fields<typeof PROFILE_KEYS>;

/** One `[git."host"]` entry: which profile's token git gets for that host, and under which username. */
export const GIT_HOST_KEYS = { profile: text, username: text };

/** What a Cosmian CLI `oauth2_conf` holds; any other key there belongs to the Cosmian CLI and is left alone. */
export const COSMIAN_OAUTH2_KEYS = {
  client_id: text,
  client_secret: secret,
  authorize_url: httpUrl,
  token_url: httpUrl,
  scopes,
};

// Profile names become keychain accounts and file names in the store directory.
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const COSMIAN_PROFILE = 'ckms';
