import type { StoreKind, TokenKind } from '../rpc/methods.js';

export const DEFAULT_REDIRECT_URL = 'http://localhost:17899/authorization';
export const DEFAULT_SCOPES = ['openid', 'email', 'offline_access'];

/** Where a profile was read from, as `profiles` reports it. */
export type ProfileSourceKind = 'config' | 'ckms.toml' | 'cosmian.toml' | 'kms.toml' | 'kms.json';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

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
  token: TokenKind;
  /** `token` resolved: auto is the id_token when the profile asks for openid without audience/resource. */
  servedKind: 'id' | 'access';
  store: StoreKind;
  /** Added to the authorization request; an empty value removes a parameter the agent would send. */
  extraAuthParams: Record<string, string>;
  tokenFile: boolean;
  /** Some endpoint is plain http on this machine (tests, a local provider). */
  allowHttp: boolean;
  /** Names the stored login; covers every endpoint that receives the refresh token. */
  storeKey: string;
}

export interface AgentConfig {
  /** The config file that was read (it may not exist: then only Cosmian profiles are known). */
  configPath: string;
  defaultProfile: string;
  profiles: Map<string, Profile>;
  /** Directory of the file token store. */
  storeDir: string;
  logLevel: string;
  /** Human-readable warnings found while loading (e.g. a client_secret in a file others can read). */
  warnings: string[];
}
