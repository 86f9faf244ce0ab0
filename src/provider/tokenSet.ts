import type { TokenEndpointResponse } from 'openid-client';
import type { DpopKey } from './dpopKey.js';
import {
  checkIdToken,
  IdTokenRefusedError,
  type IdTokenClaims,
  type IdTokenExpectations,
} from './idTokenRules.js';

/** What one successful token response gave us, checked and bounded: what the agent serves and stores. */
export interface TokenSet {
  accessToken: string;
  tokenType: string;
  /** Unix seconds. */
  accessExpiresAt: number;
  /** Seconds the access token was valid for when issued. */
  accessLifetime: number;
  idToken?: string;
  /** Unix seconds, from the id_token's own `exp` claim. */
  idExpiresAt?: number;
  idLifetime?: number;
  /** Why the id_token of this response was not kept (a refresh's token failing the rules). */
  idRefused?: string;
  /** Present when the provider issued (or rotated) one. */
  refreshToken?: string;
  /** The scope the provider says it granted. */
  scope?: string;
  subject?: string;
  email?: string;
  issuer?: string;
  nonce?: string;
  /** DPoP: the key the access token is bound to, which signs each proof for it. */
  boundTo?: DpopKey;
}

/**
 * What the provider client hands over: the response, with the id_token lifted out before
 * openid-client saw it, and the DPoP key its request proved (the tokens are bound to it).
 */
export interface ProviderTokens {
  response: TokenEndpointResponse;
  idToken?: string | undefined;
  boundTo?: DpopKey | undefined;
}

/** Access tokens without `expires_in` are assumed to live this long (RFC 6749 makes it optional). */
const ASSUMED_LIFETIME = 300;
/** Bounds on what a provider may make the agent hold or schedule (docs/SECURITY.md). */
export const MAX_LIFETIME_SECONDS = 365 * 86_400;
/** A reply line is at most 64 KiB: a larger token could not cross the socket. */
export const MAX_TOKEN_BYTES = 60 * 1024;

/** A token the agent will not serve, whatever else the answer holds: a provider error. */
export class UnservableTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnservableTokenError';
  }
}

export class TokenTooLargeError extends UnservableTokenError {
  constructor(what: string, bytes: number) {
    super(
      `the provider's ${what} is ${Math.round(bytes / 1024)} KiB, more than the ${MAX_TOKEN_BYTES / 1024} KiB the agent can serve`,
    );
    this.name = 'TokenTooLargeError';
  }
}

function checkSize(what: string, token: string): void {
  if (token.length > MAX_TOKEN_BYTES) throw new TokenTooLargeError(what, Buffer.byteLength(token));
}

/**
 * The access token goes into an `Authorization` header line, a token file and an environment
 * variable: it must be an RFC 6750 b64token, so that no CR, LF or escape code of a provider's can
 * add a header or drive a terminal. (openid-client refuses a token_type other than Bearer or DPoP.)
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function checkAccessToken(token: string): void {
  if (!B64TOKEN.test(token)) {
    const why = 'holds characters a bearer token cannot have (RFC 6750 b64token): it is not served';
    throw new UnservableTokenError(`the provider's access token ${why}`);
  }
}

function accessLifetime(expiresIn: unknown): number {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
    return ASSUMED_LIFETIME;
  return Math.max(1, Math.min(MAX_LIFETIME_SECONDS, Math.floor(expiresIn)));
}

/** openid-client reports the type lowercased: written as RFC 6750 and RFC 9449 spell it. */
function normaliseTokenType(type: string | undefined): string {
  if (!type || type.toLowerCase() === 'bearer') return 'Bearer';
  return type.toLowerCase() === 'dpop' ? 'DPoP' : type;
}

/** A token asked for with a DPoP proof must come bound: a Bearer one means no DPoP there. */
function checkBound(tokens: ProviderTokens, tokenType: string): void {
  if (tokens.boundTo === undefined || tokenType === 'DPoP') return;
  throw new UnservableTokenError(
    `the provider answered a DPoP token request with a ${tokenType} token: it does not bind ` +
      'tokens for this client (no DPoP support there); set dpop = false in the profile',
  );
}

/** When a checked id_token expires and how long it lived, within the bounds of docs/SECURITY.md. */
export function idTokenTimes(
  claims: IdTokenClaims,
  now: number,
): { expiresAt: number; lifetime: number } {
  const expiresAt = Math.min(claims.exp, now + MAX_LIFETIME_SECONDS);
  const issuedAt =
    claims.iat !== undefined && claims.iat <= now && claims.iat > now - MAX_LIFETIME_SECONDS
      ? claims.iat
      : now;
  return { expiresAt, lifetime: Math.max(1, expiresAt - issuedAt) };
}

function addIdToken(set: TokenSet, claims: IdTokenClaims, now: number): void {
  checkSize('id_token', claims.jwt);
  const { expiresAt, lifetime } = idTokenTimes(claims, now);
  set.idToken = claims.jwt;
  set.idExpiresAt = expiresAt;
  set.idLifetime = lifetime;
  set.subject = claims.sub;
  set.issuer = claims.iss;
  if (claims.email !== undefined) set.email = claims.email;
  if (claims.nonce !== undefined) set.nonce = claims.nonce;
}

/**
 * Builds the checked token set. An id_token that breaks the rules fails a login (`idTokenFailure:
 * 'throw'`); on a refresh (`'drop'`) it is left out and the reason kept, because the same answer
 * carries the rotated refresh token the agent must not lose.
 */
export function toTokenSet(
  tokens: ProviderTokens,
  expect: IdTokenExpectations,
  idTokenFailure: 'throw' | 'drop',
): TokenSet {
  const { response } = tokens;
  checkSize('access token', response.access_token);
  checkAccessToken(response.access_token);
  const lifetime = accessLifetime(response.expires_in);
  const set: TokenSet = {
    accessToken: response.access_token,
    tokenType: normaliseTokenType(response.token_type),
    accessExpiresAt: expect.now + lifetime,
    accessLifetime: lifetime,
  };
  checkBound(tokens, set.tokenType);
  if (tokens.boundTo) set.boundTo = tokens.boundTo;
  if (response.refresh_token) set.refreshToken = response.refresh_token;
  if (typeof response.scope === 'string' && response.scope !== '') set.scope = response.scope;
  if (tokens.idToken === undefined) return set;
  try {
    addIdToken(set, checkIdToken(tokens.idToken, expect), expect.now);
  } catch (err) {
    const refused = err instanceof IdTokenRefusedError || err instanceof UnservableTokenError;
    if (idTokenFailure === 'throw' || !refused) throw err;
    set.idRefused = err.message;
  }
  return set;
}
