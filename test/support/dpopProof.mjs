// Checks a DPoP proof (RFC 9449) as a resource server must (§4.3, §7.1): the checks of
// test/support/dpopResourceServer.mjs, one reason per refusal.
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  jwtVerify,
  SignJWT,
} from 'jose';

/** Asymmetric JWS algorithms only (§4.3 item 5): never `none`, never an HMAC. */
export const PROOF_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA', 'Ed25519'];
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export class ProofRefused extends Error {
  constructor(reason, error = 'invalid_dpop_proof') {
    super(reason);
    this.error = error;
  }
}

/**
 * Checks `proof` for a request (`method`, `url`) presenting `accessToken`; `replay` is a
 * ReplayCache, `window` the seconds a proof's `iat` may be off, `nonce` (optional) the value the
 * proof must carry. Returns {jkt (the key's RFC 7638 thumbprint), jti, iat}; throws ProofRefused.
 */
export async function checkDpopProof(proof, { method, url, accessToken, replay, window, nonce }) {
  const header = headerOf(proof);
  if (header.typ !== 'dpop+jwt') throw new ProofRefused(`typ is ${header.typ}, not dpop+jwt`);
  if (!PROOF_ALGS.includes(header.alg)) throw new ProofRefused(`alg ${header.alg} is not allowed`);
  if (!header.jwk || typeof header.jwk !== 'object') throw new ProofRefused('no jwk in the header');
  const privateMember = PRIVATE_MEMBERS.find((member) => member in header.jwk);
  if (privateMember) throw new ProofRefused(`the jwk has a private member (${privateMember})`);
  let payload;
  try {
    const checks = { typ: 'dpop+jwt', algorithms: PROOF_ALGS };
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, checks));
  } catch (error) {
    const why = error.code ?? error.message;
    throw new ProofRefused(`the signature does not verify with its jwk (${why})`);
  }
  if (payload.htm !== method) throw new ProofRefused(`htm ${payload.htm} is not ${method}`);
  const htu = withoutQuery(payload.htu);
  if (htu !== withoutQuery(url)) throw new ProofRefused(`htu ${htu} is not ${withoutQuery(url)}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > window) {
    throw new ProofRefused(`iat ${payload.iat} is not within ${window} s of ${now}`);
  }
  if (typeof payload.jti !== 'string' || !payload.jti) throw new ProofRefused('no jti');
  if (!replay.firstUse(payload.jti, payload.iat + window)) {
    throw new ProofRefused(`jti ${payload.jti} was used before (a replayed proof)`);
  }
  if (payload.ath !== sha256(accessToken)) {
    throw new ProofRefused('ath is not the SHA-256 of the access token');
  }
  if (nonce !== undefined && payload.nonce !== nonce) {
    throw new ProofRefused('the proof must carry the nonce of DPoP-Nonce', 'use_dpop_nonce');
  }
  return { jkt: await calculateJwkThumbprint(header.jwk), jti: payload.jti, iat: payload.iat };
}

/** The jti values seen, each kept until the time its proof's iat stops being accepted. */
export class ReplayCache {
  #seen = new Map();

  firstUse(jti, until) {
    const now = Date.now() / 1000;
    for (const [seen, end] of this.#seen) if (end < now) this.#seen.delete(seen);
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, until);
    return true;
  }
}

/**
 * A proof made by hand (ES256 key pair), for what openid-client would never send: `claims` are
 * htm, htu and the like (a fresh jti and iat unless given), `header` overrides typ, alg or jwk.
 */
export async function makeDpopProof(keyPair, claims, header = {}) {
  const jwk = await exportJWK(keyPair.publicKey);
  return new SignJWT({ jti: randomUUID(), ...claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk, ...header })
    .setIssuedAt(claims.iat)
    .sign(keyPair.privateKey);
}

/** base64url(SHA-256(value)), as `ath` carries the access token (§4.2). */
export function sha256(value) {
  return createHash('sha256').update(value).digest('base64url');
}

function headerOf(proof) {
  try {
    return decodeProtectedHeader(proof);
  } catch {
    throw new ProofRefused('the DPoP header is not a JWS');
  }
}

/** htu is compared without query and fragment (§4.3 item 9), after URL normalisation. */
function withoutQuery(value) {
  try {
    const url = new URL(value);
    url.search = '';
    url.hash = '';
    return url.href;
  } catch {
    return `(not a URL: ${String(value)})`;
  }
}
