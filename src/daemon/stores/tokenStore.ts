import type { StoreKind } from '../../rpc/methods.js';
import type { DpopJwk } from '../../provider/dpopKey.js';

/**
 * What survives an agent restart: the refresh token, who it belongs to, and the login's id_token
 * (a provider may renew none on refresh). Access tokens stay in memory.
 */
export interface StoredGrant {
  refresh_token: string;
  subject?: string;
  email?: string;
  /** Scope granted at login, as the provider reported it. */
  scope?: string;
  /** The id_token's issuer at login: held to on refresh when the profile configures none. */
  issuer?: string;
  /** The login's nonce: a refreshed id_token that carries a nonce must carry this one. */
  nonce?: string;
  /** The login's id_token: served after a restart while valid, when a refresh brings none. */
  id_token?: string;
  /** A DPoP login's private key (RFC 9449): its tokens, and maybe its refresh token, are bound to it. */
  dpop_key?: DpopJwk;
  /** Unix seconds. */
  saved_at: number;
  /** Unix seconds: the login's lifetime ends then (`max_lifetime`, `login --lifetime`). */
  ends_at?: number;
}

/** The optional text fields of a stored grant, as the stores read them back. */
export const GRANT_TEXTS = ['subject', 'email', 'scope', 'issuer', 'nonce', 'id_token'] as const;

/** Raised when a store cannot be used at all (no D-Bus, locked keyring, unwritable directory). */
export class StoreUnavailableError extends Error {
  constructor(
    readonly store: StoreKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Persists one grant per key. The key names the login (profile, client and every endpoint that
 * receives the refresh token) so that a profile pointed elsewhere never picks up a stale one.
 */
export interface TokenStore {
  readonly kind: StoreKind;
  /** Set when this store stands in for another that failed; says what happened and where the login lives. */
  readonly warning?: string | undefined;
  load(key: string): Promise<StoredGrant | null>;
  save(key: string, grant: StoredGrant): Promise<void>;
  remove(key: string): Promise<void>;
}
