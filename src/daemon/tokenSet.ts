/** What one successful token response gave us, reduced to what the agent serves and stores. */
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
  /** Present when the provider issued (or rotated) one. */
  refreshToken?: string;
  scope?: string;
  subject?: string;
  email?: string;
}

/** Access tokens without `expires_in` are assumed to live this long (RFC 6749 makes it optional). */
const ASSUMED_LIFETIME = 300;

export interface RawTokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/** Reads the claims of a JWT without verifying it: the token came over TLS from the token endpoint. */
export function jwtClaims(jwt: string): Record<string, unknown> | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function toTokenSet(response: RawTokenResponse, now = Math.floor(Date.now() / 1000)): TokenSet {
  const accessLifetime =
    typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : ASSUMED_LIFETIME;
  const set: TokenSet = {
    accessToken: response.access_token,
    tokenType: normaliseTokenType(response.token_type),
    accessExpiresAt: now + accessLifetime,
    accessLifetime,
  };
  if (response.refresh_token) set.refreshToken = response.refresh_token;
  if (response.scope) set.scope = response.scope;
  if (response.id_token) {
    set.idToken = response.id_token;
    const claims = jwtClaims(response.id_token) ?? {};
    const exp = typeof claims.exp === 'number' ? claims.exp : set.accessExpiresAt;
    const iat = typeof claims.iat === 'number' ? claims.iat : now;
    set.idExpiresAt = exp;
    set.idLifetime = Math.max(1, exp - iat);
    if (typeof claims.sub === 'string') set.subject = claims.sub;
    if (typeof claims.email === 'string') set.email = claims.email;
  }
  return set;
}

function normaliseTokenType(type: string | undefined): string {
  return !type || type.toLowerCase() === 'bearer' ? 'Bearer' : type;
}
