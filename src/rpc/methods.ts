/**
 * The protocol (docs/protocol.md): every method with its params and result, shared by daemon and
 * client, and the enumerations its values take.
 */
import type {
  AuditEntry,
  DelegatedKind,
  DelegationInfo,
  OutcomeCounters,
} from './controlRecords.js';

// Each enumeration is listed once, here (a delegation's kinds in controlRecords.ts); its type, the
// config's check and the params' check follow it.
export const TOKEN_KINDS = ['auto', 'access', 'id'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];
export const LOGIN_FLOWS = ['pkce', 'device'] as const;
export type LoginFlow = (typeof LOGIN_FLOWS)[number];
/**
 * How a profile gets its tokens (docs/configuration.md): a user's login, or the client's own
 * credentials.
 */
export const GRANTS = ['authorization_code', 'client_credentials'] as const;
export type Grant = (typeof GRANTS)[number];
export const STORE_KINDS = ['keychain', 'file', 'memory'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];
/**
 * The Cosmian CLI's layouts, in the order it looks for its files in ~/.cosmian (docs/configuration.md,
 * "The Cosmian CLI's file").
 */
export const COSMIAN_LAYOUTS = ['ckms.toml', 'cosmian.toml', 'kms.toml', 'kms.json'] as const;
export type CosmianLayout = (typeof COSMIAN_LAYOUTS)[number];
/** Where a profile was read from: the agent's own config, or one of the Cosmian CLI's layouts. */
export type ProfileSourceKind = 'config' | CosmianLayout;

export interface ProfileStatus {
  name: string;
  logged_in: boolean;
  subject?: string;
  email?: string;
  /** Unix seconds. */
  expires_at?: number;
  has_refresh_token: boolean;
  store: StoreKind;
  /** Set when the configured store could not be used and another one holds the login. */
  store_warning?: string;
  last_error?: string;
  login_pending?: boolean;
  /** With `token_file = true`: the token file and its `Authorization:` header file. */
  token_files?: { token: string; header: string };
  /** Set for a client credentials profile (no login: `logged_in` means a token is cached). */
  grant?: 'client_credentials';
  /** Set for a DPoP profile: its tokens are bound to the agent's key, whose thumbprint this is. */
  dpop?: { jkt?: string };
  /** Unix seconds: when the login's lifetime ends (`max_lifetime`, `login --lifetime`). */
  login_ends_at?: number;
  /** `token.get` outcomes for this profile since the agent started. */
  counters?: OutcomeCounters;
}

export interface TokenReply {
  token: string;
  token_type: string;
  /** Unix seconds. */
  expires_at: number;
  profile: string;
  /** The scope the provider granted, when it said (it may differ from the one asked for). */
  scope?: string;
  /** Something the user should hear although the token was served (a config edit that did not load). */
  warning?: string;
  /** With token.get's `dpop`: the DPoP proof (RFC 9449) for that one request, bound to the token. */
  dpop_proof?: string;
}

/** The request a DPoP proof is for (RFC 9449 §4.2); `nonce`: a resource server's DPoP-Nonce. */
export interface DpopRequest {
  htm: string;
  htu: string;
  nonce?: string;
}

/** What `logout` did about one profile's refresh token at the provider. */
export type Revocation =
  'revoked' | 'unsupported' | 'refused' | 'unreachable' | 'no_refresh_token' | 'not_logged_in';

export interface LogoutOutcome {
  profile: string;
  revocation: Revocation;
  /** The provider's words, when it refused or could not be asked. */
  detail?: string;
}

export interface Methods {
  'agent.status': {
    params: Record<string, never>;
    result: {
      version: string;
      pid: number;
      /** Unix seconds. */
      started_at: number;
      socket: string;
      /** The config file the agent reads (and watches); absent on a delegation's socket. */
      config?: string;
      profiles: ProfileStatus[];
      /** Why the last reload failed: the agent runs on the config it had. */
      config_error?: string;
      /** True while the agent is locked (`kms-agent lock`). */
      locked?: boolean;
      /** On a delegation's socket: that delegation, and no profile. */
      delegation?: DelegationInfo;
    };
  };
  'agent.config': {
    /** `config`: the file the client was given (--config, KMS_AGENT_CONFIG), links resolved. */
    params: { config?: string };
    /** `mismatch`: why that is not the agent's config, what to do; `warning`: a failed reload. */
    result: { pid: number; config: string; mismatch?: string; warning?: string };
  };
  'token.get': {
    /** `config` as for agent.config: a token for a client that names another file is refused. */
    params: {
      profile?: string;
      min_valid?: number;
      kind?: TokenKind;
      scope?: string;
      audience?: string;
      config?: string;
      /** A new token now, whatever the cache holds (one refresh per second, shared). */
      force?: boolean;
      /** A DPoP profile's token with a proof for this request. */
      dpop?: DpopRequest;
    };
    result: TokenReply;
  };
  'git.credential': {
    params: { host: string; profile?: string; config?: string };
    result: {
      profile: string;
      username: string;
      token: string;
      expires_at: number;
      warning?: string;
    };
  };
  'login.start': {
    /**
     * `acr_values`, `max_age`: a step-up for this login, in place of the profile's.
     * `lifetime`: seconds until the agent forgets this login (over the profile's max_lifetime).
     */
    params: {
      profile?: string;
      flow?: LoginFlow;
      acr_values?: string;
      max_age?: number;
      lifetime?: number;
    };
    result: {
      login_id: string;
      profile: string;
      url: string;
      /** A private file:// page forwarding to `url`: what a browser's command line may show. */
      browser_url?: string;
      user_code?: string;
      verification_url?: string;
      expires_at: number;
    };
  };
  'login.wait': {
    params: { login_id: string; timeout?: number };
    result: {
      profile: string;
      subject: string;
      email?: string;
      expires_at: number;
      has_refresh_token: boolean;
      store: StoreKind;
      store_warning?: string;
      /** The subject of the profile's previous login, when the new one is someone else. */
      previous_subject?: string;
      /** Why this login will not last (no refresh token), and what to change. */
      refresh_token_warning?: string;
      /** Unix seconds: when the agent forgets this login (its lifetime). */
      login_ends_at?: number;
    };
  };
  'login.cancel': {
    params: { login_id: string };
    result: { cancelled: boolean };
  };
  logout: {
    params: { profile?: string; all?: boolean };
    result: { revoked: boolean; profiles: string[]; outcomes: LogoutOutcome[] };
  };
  'profiles.list': {
    params: Record<string, never>;
    /** `source_kind` tells a client how to read `source` (`exec --ckms` copies a Cosmian file). */
    result: Array<{
      name: string;
      source: string;
      source_kind: ProfileSourceKind;
      default: boolean;
    }>;
  };
  'agent.reload': {
    params: Record<string, never>;
    /** `warnings`: what `start` would say of this config; a default profile it left ambiguous. */
    result: { profiles: string[]; warnings?: string[] };
  };
  'agent.shutdown': {
    params: Record<string, never>;
    result: Record<string, never>;
  };
  'agent.lock': {
    params: { passphrase: string };
    result: { locked: boolean };
  };
  'agent.unlock': {
    params: { passphrase: string };
    result: { locked: boolean; was_locked: boolean };
  };
  'delegation.create': {
    /** Without `socket` the delegation ends when the connection that made it closes. */
    params: {
      profile?: string;
      audience?: string;
      scope?: string;
      kind?: DelegatedKind;
      ttl?: number;
      uses?: number;
      confirm?: boolean;
      exchange?: boolean;
      socket?: string;
    };
    result: DelegationInfo;
  };
  'delegation.list': {
    params: Record<string, never>;
    result: DelegationInfo[];
  };
  'delegation.revoke': {
    params: { id: string };
    result: { revoked: boolean };
  };
  'audit.list': {
    params: { profile?: string; last?: number };
    result: AuditEntry[];
  };
}

export type MethodName = keyof Methods;
export type Params<M extends MethodName> = Methods[M]['params'];
export type Result<M extends MethodName> = Methods[M]['result'];

/** Every method once (a delegated socket refuses each); the compiler refuses one missing. */
const EVERY_METHOD: Record<MethodName, true> = {
  'agent.status': true,
  'agent.config': true,
  'token.get': true,
  'git.credential': true,
  'login.start': true,
  'login.wait': true,
  'login.cancel': true,
  logout: true,
  'profiles.list': true,
  'agent.reload': true,
  'agent.shutdown': true,
  'agent.lock': true,
  'agent.unlock': true,
  'delegation.create': true,
  'delegation.list': true,
  'delegation.revoke': true,
  'audit.list': true,
};
export const METHOD_NAMES = Object.keys(EVERY_METHOD) as MethodName[];
