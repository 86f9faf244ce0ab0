import { providerText, timeText } from './providerText.js';

/**
 * The id_token rules of docs/SECURITY.md, the same whether the profile uses discovery or explicit
 * endpoints. The token comes straight from the token endpoint over TLS, so its signature is not
 * verified here (OpenID Connect Core §3.1.3.7, item 6: the KMS verifies it); what is held is
 * everything that tells this login's token from another one: signed at all (never `alg: none`),
 * no HMAC a public client's id could forge, for this client, from this issuer, for this login's
 * nonce and subject, and not expired.
 */
export interface IdTokenExpectations {
  clientId: string;
  /** The configured or discovered issuer, or the one learned at login; unknown at a first explicit-endpoint login. */
  issuer?: string | undefined;
  /** The login's nonce. At login it must be there; on refresh a nonce, when present, must be this one. */
  nonce?: string | undefined;
  nonceRequired: boolean;
  /** On refresh: the login's subject (OpenID Connect Core §12.2). */
  subject?: string | undefined;
  /** Only a confidential client shares a secret with the provider that an HMAC could use. */
  allowHmac: boolean;
  /** At a step-up login (RFC 9470): the `acr` must be one of these. */
  acrValues?: readonly string[] | undefined;
  /** At a login that asked for max_age: `auth_time` must be at most this many seconds ago. */
  maxAge?: number | undefined;
  /** Unix seconds. */
  now: number;
}

export interface IdTokenClaims {
  jwt: string;
  iss: string;
  sub: string;
  /** Unix seconds. */
  exp: number;
  iat?: number;
  email?: string;
  nonce?: string;
}

export class IdTokenRefusedError extends Error {
  constructor(reason: string) {
    super(`the provider's id_token was refused: ${reason}`);
    this.name = 'IdTokenRefusedError';
  }
}

const ASYMMETRIC_ALG = /^(?:(?:RS|PS|ES)(?:256|384|512)|ES256K|EdDSA|Ed25519)$/;
const HMAC_ALG = /^HS(?:256|384|512)$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type Claims = Record<string, unknown>;

/** One part of a JWT (header or payload) as the JSON object it encodes, or undefined when it is none. */
export function jwtPart(part: string | undefined): Claims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Claims;
  } catch {
    // not JSON
  }
  return undefined;
}

function decodePart(part: string | undefined, what: string): Claims {
  const claims = jwtPart(part);
  if (claims === undefined) throw new IdTokenRefusedError(`its ${what} is not a JSON object`);
  return claims;
}

function checkAlg(header: Claims, allowHmac: boolean): void {
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === 'none')
    throw new IdTokenRefusedError('it is not signed (alg "none")');
  if (HMAC_ALG.test(alg)) {
    if (!allowHmac)
      throw new IdTokenRefusedError(
        `alg ${alg} is an HMAC keyed by the client secret, and this public client has none: anyone could make it`,
      );
    return;
  }
  if (!ASYMMETRIC_ALG.test(alg))
    throw new IdTokenRefusedError(
      `alg "${providerText(alg, 40)}" is not a signature algorithm the agent accepts`,
    );
}

function requiredString(claims: Claims, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value === '')
    throw new IdTokenRefusedError(`it has no "${name}" claim`);
  return value;
}

function checkAudience(claims: Claims, clientId: string): void {
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(clientId))
    throw new IdTokenRefusedError(`its audience (aud) does not include this client_id ${clientId}`);
  // OpenID Connect Core §3.1.3.7, items 4 and 5: with several audiences, azp names the client.
  if (audiences.length > 1 && claims.azp === undefined) {
    throw new IdTokenRefusedError(
      'it names several audiences (aud) and no authorized party (azp): ' +
        'it may have been issued to another of them',
    );
  }
  if (claims.azp !== undefined && claims.azp !== clientId) {
    throw new IdTokenRefusedError(
      `it was issued to another client (azp "${providerText(claims.azp, 100)}")`,
    );
  }
}

function checkNonce(claims: Claims, expect: IdTokenExpectations): void {
  const nonce = claims.nonce;
  if (expect.nonceRequired && nonce !== expect.nonce)
    throw new IdTokenRefusedError(
      'its nonce is not the one this login sent: it belongs to another login',
    );
  if (
    !expect.nonceRequired &&
    nonce !== undefined &&
    expect.nonce !== undefined &&
    nonce !== expect.nonce
  ) {
    throw new IdTokenRefusedError('its nonce is not the one of this login');
  }
}

/** How far the provider's clock may be ahead of ours for `auth_time` (openid-client's default). */
const AUTH_TIME_SKEW = 15;

/** Step-up (RFC 9470): the login is as strong and as recent as it was asked to be. */
function checkStepUp(claims: Claims, expect: IdTokenExpectations): void {
  const { acrValues, maxAge, now } = expect;
  if (acrValues !== undefined && !acrValues.includes(claims.acr as string)) {
    const acr =
      typeof claims.acr === 'string' ? `is "${providerText(claims.acr, 100)}"` : 'is missing';
    throw new IdTokenRefusedError(
      `its acr ${acr}, not one of the acr_values asked for (${acrValues.join(' ')}): ` +
        'the provider did not log you in as strongly as asked',
    );
  }
  if (maxAge === undefined) return;
  const authTime = claims.auth_time;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime))
    throw new IdTokenRefusedError('it has no "auth_time" claim although max_age was asked for');
  if (authTime < now - maxAge - AUTH_TIME_SKEW) {
    throw new IdTokenRefusedError(
      `its auth_time (${timeText(authTime)}) is more than max_age ${maxAge} s ago: ` +
        'the provider did not make you log in again',
    );
  }
}

/** A JWT's claims without any check, for showing who a token names; undefined when it is no JWT. */
export function jwtPayload(jwt: string): Claims | undefined {
  return jwtPart(jwt.split('.')[1]);
}

/** Checks an id_token against the rules above; returns its claims, or throws IdTokenRefusedError saying which rule failed. */
export function checkIdToken(jwt: string, expect: IdTokenExpectations): IdTokenClaims {
  // Compact JWS only (RFC 7515 §7.1): base64url parts, so nothing else can ride along with it.
  if (!COMPACT_JWS.test(jwt)) {
    throw new IdTokenRefusedError('it is not a JWT in compact form (base64url parts and dots)');
  }
  const parts = jwt.split('.');
  checkAlg(decodePart(parts[0], 'header'), expect.allowHmac);
  if (!parts[2]) throw new IdTokenRefusedError('it carries no signature');
  const claims = decodePart(parts[1], 'payload');
  const iss = requiredString(claims, 'iss');
  if (expect.issuer !== undefined && iss !== expect.issuer) {
    throw new IdTokenRefusedError(
      `its issuer "${providerText(iss, 200)}" is not this provider's issuer "${expect.issuer}"`,
    );
  }
  const sub = requiredString(claims, 'sub');
  if (expect.subject !== undefined && sub !== expect.subject)
    throw new IdTokenRefusedError('its subject is not the one of this login');
  checkAudience(claims, expect.clientId);
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    throw new IdTokenRefusedError('it has no "exp" claim');
  if (exp <= expect.now)
    throw new IdTokenRefusedError(
      `it had already expired when it arrived (exp ${timeText(exp)}; check this machine's clock)`,
    );
  checkNonce(claims, expect);
  checkStepUp(claims, expect);
  const result: IdTokenClaims = { jwt, iss, sub, exp };
  if (typeof claims.iat === 'number') result.iat = claims.iat;
  if (typeof claims.email === 'string') result.email = claims.email;
  if (typeof claims.nonce === 'string') result.nonce = claims.nonce;
  return result;
}
