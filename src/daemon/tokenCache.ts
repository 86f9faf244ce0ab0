import type { TokenKind, TokenReply } from '../rpc/methods.js';
import type { TokenSet } from './tokenSet.js';

/** One token ready to serve: the reply object is built once so that serving it allocates nothing. */
export interface ServedToken {
  readonly reply: TokenReply;
  readonly expiresAt: number;
  /** Seconds the token was valid for when issued. */
  readonly lifetime: number;
  /** SPEC §6: 60 s or half the token's lifetime, whichever is smaller. */
  readonly defaultMinValid: number;
}

/** The tokens of one target (the profile's main token, or a scope/audience variant). */
export interface CachedTokens {
  readonly access: ServedToken;
  readonly id?: ServedToken;
  readonly set: TokenSet;
  /** Unix ms of the last time a client was served from this entry (a target's counts from when it was stored). */
  lastUsedMs: number;
}

export function defaultMinValid(lifetime: number): number {
  return Math.min(60, Math.floor(lifetime / 2));
}

function served(profile: string, token: string, tokenType: string, expiresAt: number, lifetime: number): ServedToken {
  return {
    reply: { token, token_type: tokenType, expires_at: expiresAt, profile },
    expiresAt,
    lifetime,
    defaultMinValid: defaultMinValid(lifetime),
  };
}

export function cacheTokens(profile: string, set: TokenSet): CachedTokens {
  const entry: CachedTokens = {
    access: served(profile, set.accessToken, set.tokenType, set.accessExpiresAt, set.accessLifetime),
    set,
    lastUsedMs: 0,
  };
  if (set.idToken && set.idExpiresAt !== undefined) {
    return { ...entry, id: served(profile, set.idToken, 'Bearer', set.idExpiresAt, set.idLifetime ?? 1) };
  }
  return entry;
}

/** `auto` is the id_token when the provider issued one, else the access token (what the Cosmian CLI sends). */
export function pick(entry: CachedTokens, kind: TokenKind): ServedToken | undefined {
  if (kind === 'access') return entry.access;
  if (kind === 'id') return entry.id;
  return entry.id ?? entry.access;
}

/** The token of the entry that expires first: background refresh aims before it. */
export function firstToExpire(entry: CachedTokens): ServedToken {
  return entry.id && entry.id.expiresAt < entry.access.expiresAt ? entry.id : entry.access;
}
