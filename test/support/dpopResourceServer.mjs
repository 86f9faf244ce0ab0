// A small resource server on loopback that takes DPoP-bound access tokens as RFC 9449 §7 says:
// `Authorization: DPoP <token>` with one `DPoP: <proof>` header whose checks pass
// (test/support/dpopProof.mjs) and whose key is the one the token is bound to (`cnf.jkt`). It
// answers every path with JSON saying what it accepted, or why it refused (never the token).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { checkDpopProof, PROOF_ALGS, ProofRefused, ReplayCache } from './dpopProof.mjs';

/**
 * Options: issuer and jwksUri (a JWT access token is checked with these keys: signature, `iss`,
 * `exp`), introspection ({url, clientId, clientSecret}: any other token is asked about there,
 * RFC 7662, with HTTP Basic), audience (the `aud` a JWT must have; default any), window (s a
 * proof's iat may be off; default 60), acceptBearer (an unbound token as Bearer is accepted;
 * default false: DPoP only), requireNonce (a proof must carry this server's DPoP-Nonce, §9).
 * Resolves with {url (ends with /), port, requests (one entry per request: {method, path, status,
 * accepted, scheme, reason}), close()}. A DPoP-bound token sent as Bearer is always refused.
 */
export async function startDpopResourceServer(options) {
  const settings = { window: 60, acceptBearer: false, requireNonce: false, ...options };
  const keys = settings.jwksUri ? createRemoteJWKSet(new URL(settings.jwksUri)) : undefined;
  const replay = new ReplayCache();
  const nonce = randomBytes(16).toString('base64url');
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = `http://127.0.0.1:${server.address().port}${req.url}`;
    let answer;
    try {
      const accepted = await check(req, url, { settings, keys, replay, nonce });
      answer = { status: 200, body: { accepted: true, ...accepted } };
    } catch (error) {
      answer = refusal(error, settings.requireNonce ? nonce : undefined);
    }
    const path = new URL(url).pathname;
    const { body } = answer;
    requests.push({ method: req.method, path, status: answer.status, ...summary(body) });
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify({ method: req.method, path, ...body }));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function check(req, url, { settings, keys, replay, nonce }) {
  const [scheme, token, extra] = (req.headers.authorization ?? '').split(' ');
  if (!token || extra !== undefined) throw invalidToken('no access token');
  const claims = await tokenClaims(token, settings, keys);
  const bound = claims.cnf?.jkt;
  const seen = { scheme, via: claims.via, sub: claims.sub, client_id: claims.client_id };
  if (scheme === 'Bearer') {
    if (bound) throw invalidToken('a DPoP-bound token sent as Bearer');
    if (!settings.acceptBearer) throw invalidToken('DPoP only: Bearer is refused');
    return { ...seen, scope: claims.scope, aud: claims.aud };
  }
  if (scheme !== 'DPoP') throw invalidToken(`unknown scheme ${scheme}`);
  const proofs = req.headersDistinct.dpop ?? [];
  if (proofs.length !== 1) throw new ProofRefused(`${proofs.length} DPoP headers, not one`);
  const proof = await checkDpopProof(proofs[0], {
    method: req.method,
    url,
    accessToken: token,
    replay,
    window: settings.window,
    nonce: settings.requireNonce ? nonce : undefined,
  });
  if (!bound) throw invalidToken('the token is not DPoP-bound (no cnf.jkt)');
  if (bound !== proof.jkt) {
    throw invalidToken('the proof key is not the one the token is bound to');
  }
  const { scope, aud } = claims;
  return { ...seen, scope, aud, jkt: proof.jkt, jti: proof.jti, htu: url.split('?')[0] };
}

/** The token's claims: a JWT verified with the provider's keys, else introspected there. */
async function tokenClaims(token, settings, keys) {
  if (keys && token.split('.').length === 3) {
    try {
      const checks = { issuer: settings.issuer, audience: settings.audience };
      const { payload } = await jwtVerify(token, keys, checks);
      return { ...payload, via: 'jwt' };
    } catch (error) {
      throw invalidToken(`the token does not verify (${error.code ?? error.message})`);
    }
  }
  if (!settings.introspection) throw invalidToken('an opaque token and no introspection');
  const { url, clientId, clientSecret } = settings.introspection;
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ token }),
  });
  const claims = await response.json();
  if (!claims.active) throw invalidToken('the token is not active');
  return { ...claims, via: 'introspection' };
}

/** 401 with a DPoP challenge (§7.1), or use_dpop_nonce with a fresh DPoP-Nonce (§9). */
function refusal(error, nonce) {
  if (!(error instanceof ProofRefused)) {
    return { status: 500, body: { accepted: false, error: 'server_error', reason: error.message } };
  }
  const challenge = `DPoP error="${error.error}", algs="${PROOF_ALGS.join(' ')}"`;
  const headers = { 'www-authenticate': challenge };
  if (error.error === 'use_dpop_nonce') headers['dpop-nonce'] = nonce;
  const body = { accepted: false, error: error.error, reason: error.message };
  return { status: 401, headers, body };
}

function invalidToken(reason) {
  return new ProofRefused(reason, 'invalid_token');
}

function summary(body) {
  return { accepted: body.accepted, scheme: body.scheme, error: body.error, reason: body.reason };
}
