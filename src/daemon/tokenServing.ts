/**
 * Which token a request to one profile's session (profileSession.ts) gets: a cached token valid
 * long enough, as is, without I/O or allocation (the hot path); else one after a refresh
 * (sessionRefresh.ts: single flight, backoff, what a failure means for clients); or the last valid
 * one while the provider cannot be reached. A scope/audience target serves its access token unless
 * `kind` says otherwise: scopes and audience shape the access token, while an id_token is always
 * for the client itself. A DPoP profile's access token comes with a proof for the one request
 * `dpop` names, or not at all (docs/protocol.md).
 */
import type { Profile } from '../config/profile.js';
import { MAIN_TARGET, tokenTarget, type TokenTarget } from '../provider/tokenTarget.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { DpopRequest, TokenKind, TokenReply } from '../rpc/methods.js';
import { checkDpopRequest, replyOf, withProof } from './dpopServing.js';
import type { LoginLifetime } from './loginLifetime.js';
import {
  idTokenNotRenewed,
  lifetimeEnded,
  loginRequired,
  noOpenidScope,
} from './refreshFailures.js';
import type { SessionRefresh } from './sessionRefresh.js';
import type { SessionTokens } from './sessionTokens.js';
import { servable, type CachedTokens, type ServedToken } from './tokenCache.js';

export interface TokenRequest {
  min_valid?: number | undefined;
  kind?: TokenKind | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
  /** A new token now, whatever the cache holds (sessionRefresh.ts: at most one per second). */
  force?: boolean | undefined;
  /** The request a DPoP proof is for (a DPoP profile's access token needs one). */
  dpop?: DpopRequest | undefined;
}

/** What serving reads of a profile's session. */
export interface ServingSession {
  readonly name: string;
  readonly profile: Profile;
  readonly tokens: SessionTokens;
  readonly refresh: SessionRefresh;
  readonly lifetime: LoginLifetime;
}

const nowSeconds = (): number => Date.now() / 1000;

/** The reply to `request`: at once from the cache, or once a refresh brought a token. */
export function serveToken(
  session: ServingSession,
  request: TokenRequest,
): TokenReply | Promise<TokenReply> {
  const isMain = request.scope === undefined && request.audience === undefined;
  const target = isMain ? MAIN_TARGET : tokenTarget(request.scope, request.audience);
  const kind = kindOf(session.profile, request);
  const dpop = request.dpop;
  if (dpop !== undefined || session.profile.dpop) checkDpopRequest(session.profile, kind, dpop);
  const token = request.force
    ? forcedToken(session, target, kind)
    : servedToken(session, target, kind, request.min_valid);
  if (dpop === undefined) return token instanceof Promise ? token.then(replyOf) : token.reply;
  return token instanceof Promise
    ? token.then((served) => withProof(served, dpop))
    : withProof(token, dpop);
}

/** The kind of token a request gets: as asked, else the profile's main one, else access. */
export function kindOf(profile: Profile, request: TokenRequest): 'id' | 'access' {
  if (request.kind === 'id' || request.kind === 'access') return request.kind;
  const isMain = request.scope === undefined && request.audience === undefined;
  return isMain ? profile.servedKind : 'access';
}

function servedToken(
  session: ServingSession,
  target: TokenTarget,
  kind: 'id' | 'access',
  minValid: number | undefined,
): ServedToken | Promise<ServedToken> {
  const entry = session.tokens.of(target);
  const token = entry && (kind === 'id' ? entry.id : entry.access);
  if (token !== undefined) {
    const now = nowSeconds();
    const left = token.expiresAt - now;
    const wanted = minValid ?? token.defaultMinValid;
    // A min_valid beyond what this provider ever issues cannot be met by a refresh either: serve the
    // freshest token, and refresh only once it is half used, not on every call.
    if (
      (left >= wanted || (left > 0 && wanted > token.lifetime && now < entry!.noRefreshBefore)) &&
      now < session.lifetime.endsAt
    ) {
      entry!.lastUsedMs = Date.now();
      return token;
    }
  }
  return refreshAndServe(session, target, kind);
}

async function refreshAndServe(
  session: ServingSession,
  target: TokenTarget,
  kind: 'id' | 'access',
): Promise<ServedToken> {
  checkRefreshable(session, kind);
  const before = session.tokens.of(target);
  // The last refresh brought no id_token and asking again so soon would not either: no refresh per
  // call. The last id_token is served while it is valid, even with less than min_valid left.
  if (kind === 'id' && before && !before.idRenewed && nowSeconds() < before.noRefreshBefore) {
    const last = servable(before, 'id');
    if (last === undefined) throw idTokenNotRenewed(session.name, before.set.idRefused);
    before.lastUsedMs = Date.now();
    return last;
  }
  let entry: CachedTokens;
  try {
    entry = await session.refresh.once(target);
  } catch (err) {
    const stale = session.tokens.of(target);
    const token = stale && servable(stale, kind);
    if (
      err instanceof AgentError &&
      (err.reason === 'PROVIDER_UNREACHABLE' || err.reason === 'PROVIDER_ERROR') &&
      token
    ) {
      stale.lastUsedMs = Date.now();
      return token;
    }
    throw err;
  }
  return servedFrom(session, entry, kind);
}

/** A forced token is a new one or an error: never the cached token it was asked to replace. */
async function forcedToken(
  session: ServingSession,
  target: TokenTarget,
  kind: 'id' | 'access',
): Promise<ServedToken> {
  checkRefreshable(session, kind);
  return servedFrom(session, await session.refresh.forced(target), kind);
}

/** An id_token needs the openid scope, and no login is refreshed past its lifetime. */
function checkRefreshable(session: ServingSession, kind: 'id' | 'access'): void {
  if (kind === 'id' && !session.profile.scopes.includes('openid')) {
    throw noOpenidScope(session.name);
  }
  if (session.lifetime.ended()) throw lifetimeEnded(session.name, session.lifetime.endsAt);
}

/** The token of `kind` a refresh brought, or why there is none. */
function servedFrom(
  session: ServingSession,
  entry: CachedTokens,
  kind: 'id' | 'access',
): ServedToken {
  const token = servable(entry, kind);
  if (token === undefined) {
    throw kind === 'id'
      ? idTokenNotRenewed(session.name, entry.set.idRefused)
      : loginRequired(session.name, 'the provider answered with an expired token');
  }
  entry.lastUsedMs = Date.now();
  return token;
}
