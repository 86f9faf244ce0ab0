import type { Grant, ProfileSourceKind, StoreKind, TokenKind } from '../rpc/methods.js';

export const DEFAULT_REDIRECT_URL = 'http://localhost:17899/authorization';
export const DEFAULT_SCOPES = ['openid', 'email', 'offline_access'];

/** Where a profile was read from, as `profiles` reports it (a protocol type). */
export type { ProfileSourceKind };

/** How the client authenticates at the token endpoint (RFC 7591 names; private_key_jwt: RFC 7523). */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** One identity-provider login, fully validated: everything the daemon needs, nothing optional it must guess. */
export interface Profile {
  name: string;
  /** Absolute path of the file the profile came from. */
  source: string;
  sourceKind: ProfileSourceKind;
  clientId: string;
  /** Absent when the file has none or an empty one (Cosmian files): it is then never sent. */
  clientSecret?: string;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** private_key_jwt: the PEM file of the client's key, `~/` expanded (privateKeyFile.ts). */
  privateKeyFile?: string;
  /** authorization_code: a user logs in; client_credentials: no login, the client's own tokens. */
  grant: Grant;
  /** Sender-constrained tokens (RFC 9449): every token request carries a DPoP proof. */
  dpop: boolean;
  /** When set, endpoints come from discovery and id_tokens are checked against it. */
  issuer?: string;
  /** Required unless `issuer` is set. */
  authorizeUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  deviceAuthorizationUrl?: string;
  redirectUrl: string;
  scopes: string[];
  audience?: string;
  resource?: string;
  /** Added to the authorization request (prompt, access_type, login_hint, …); empty when none. */
  extraAuthParams: Record<string, string>;
  /** As configured: auto | access | id. The daemon serves `servedKind`. */
  token: TokenKind;
  /** What `token` prints for this profile, decided here once: never switched by what a refresh returned. */
  servedKind: ServedKind;
  /** Step-up (RFC 9470): asked on the authorization request; the id_token's `acr` must be one. */
  acrValues?: string[];
  /** Seconds: asked on the authorization request; the id_token's `auth_time` must be as recent. */
  maxAge?: number;
  /** Keep the token in a private file too (the token-file integration). */
  tokenFile: boolean;
  store: StoreKind;
  /** Seconds after a login that the agent forgets it (`max_lifetime`); unset: until logout. */
  maxLifetime?: number;
  /** Each new client process is confirmed through pinentry (`confirm = true`). */
  confirm: boolean;
  /** Delegations get tokens from an RFC 8693 exchange, never the user's own (`token_exchange`). */
  tokenExchange: boolean;
  /** True when an endpoint or the issuer is plain http to this machine: the provider client must allow http. */
  allowHttp: boolean;
  /**
   * The login's key in the token store. It covers every endpoint that receives the refresh token,
   * so a profile whose endpoints changed never inherits a login made for other ones.
   */
  storeKey: string;
}

/** The profile's endpoints: each receives the refresh token, a code or the client secret. */
export const PROFILE_ENDPOINTS = [
  'issuer',
  'authorizeUrl',
  'tokenUrl',
  'revocationUrl',
  'deviceAuthorizationUrl',
] as const;

export type ServedKind = 'id' | 'access';

/** `[git."host"]`: git's token for that host comes from `profile`, under `username`. */
export interface GitHost {
  profile: string;
  username: string;
}

/** A file whose content (or appearance) changes the loaded config: the daemon watches these. */
export interface WatchedFile {
  path: string;
  role: 'config' | 'cosmian';
  /** False for a file that was looked for and not found (creating it changes the config). */
  exists: boolean;
}

export interface AgentConfig {
  /** The config file that was read (it may not exist: then only Cosmian profiles are known). */
  configPath: string;
  /** The profile used without --profile; undefined when none can be chosen (see defaultProfile.ts). */
  defaultProfile: string | undefined;
  profiles: Map<string, Profile>;
  /** `[git]`: host as git reports it (`host` or `host:port`, lower case) to its profile and username. */
  git: Map<string, GitHost>;
  /** Every file read or looked for, for reloading when one changes. */
  files: WatchedFile[];
  /** Directory of the file token store. */
  storeDir: string;
  /** `pinentry_program`: the prompt program for confirmations, before KMS_AGENT_PINENTRY. */
  pinentryProgram?: string;
  logLevel: string;
  /** Human-readable warnings found while loading (e.g. a client_secret in a file others can read). */
  warnings: string[];
}
