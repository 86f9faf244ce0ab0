import type { TokenReply } from '../rpc/methods.js';
import type { TokenSet } from '../provider/tokenSet.js';
import type { DpopKey } from '../provider/dpopKey.js';

/** One token ready to serve: the reply object is built once so that serving it allocates nothing. */
export interface ServedToken {
  readonly reply: TokenReply;
  readonly expiresAt: number;
  /** Seconds the token was valid for when issued. */
  readonly lifetime: number;
  /** docs/protocol.md: 60 s or half the token's lifetime, whichever is smaller. */
  readonly defaultMinValid: number;
  /** A DPoP-bound access token's key, which signs each proof for it. */
  readonly boundTo?: DpopKey | undefined;
}

/** The tokens of one target (the profile's main token, or a scope/audience variant). */
export interface CachedTokens {
  readonly access: ServedToken;
  /** The id_token: this response's, or the previous one while it is valid when a refresh brought none. */
  readonly id?: ServedToken;
  /** False when the refresh that made this entry brought no usable id_token. */
  readonly idRenewed: boolean;
  readonly set: TokenSet;
  /**
   * Unix seconds: half the access token's lifetime after it was issued. Until then a min_valid
   * longer than the provider's token lifetime gets the valid cached token (the provider just gave
   * its freshest; asking again would only repeat it), and an id_token the last refresh did not
   * renew is not asked for again.
   */
  readonly noRefreshBefore: number;
  /** Unix ms of the last time a client was served from this entry (a target's counts from when it was stored). */
  lastUsedMs: number;
}

export function defaultMinValid(lifetime: number): number {
  return Math.min(60, Math.floor(lifetime / 2));
}

function served(reply: TokenReply, lifetime: number, boundTo?: DpopKey): ServedToken {
  return {
    reply,
    expiresAt: reply.expires_at,
    lifetime,
    defaultMinValid: defaultMinValid(lifetime),
    boundTo,
  };
}

/** An id_token as served: issued for `lifetime` seconds, until `expiresAt`. */
export function servedIdToken(
  profile: string,
  token: string,
  expiresAt: number,
  lifetime: number,
): ServedToken {
  return served({ token, token_type: 'Bearer', expires_at: expiresAt, profile }, lifetime);
}

/**
 * Caches a fresh token set; the previous id_token (the cache's, or the stored login's) is kept
 * while valid when this set has none.
 */
export function cacheTokens(
  profile: string,
  set: TokenSet,
  previousId: ServedToken | undefined,
  now: number,
): CachedTokens {
  const accessReply: TokenReply = {
    token: set.accessToken,
    token_type: set.tokenType,
    expires_at: set.accessExpiresAt,
    profile,
  };
  if (set.scope !== undefined) accessReply.scope = set.scope;
  const fresh = set.idToken !== undefined && set.idExpiresAt !== undefined;
  const id = fresh
    ? servedIdToken(profile, set.idToken!, set.idExpiresAt!, set.idLifetime ?? 1)
    : previousId && previousId.expiresAt > now
      ? previousId
      : undefined;
  return {
    access: served(accessReply, set.accessLifetime, set.boundTo),
    ...(id ? { id } : {}),
    idRenewed: fresh,
    set,
    noRefreshBefore: set.accessExpiresAt - set.accessLifetime / 2,
    lastUsedMs: 0,
  };
}

/** The token of the entry that expires first: background refresh aims before it. */
export function firstToExpire(entry: CachedTokens): ServedToken {
  return entry.id && entry.idRenewed && entry.id.expiresAt < entry.access.expiresAt
    ? entry.id
    : entry.access;
}

/** A token that may be served: never one that has already expired. */
export function servable(entry: CachedTokens, kind: 'id' | 'access'): ServedToken | undefined {
  const token = kind === 'id' ? entry.id : entry.access;
  return token !== undefined && token.expiresAt > Date.now() / 1000 ? token : undefined;
}
