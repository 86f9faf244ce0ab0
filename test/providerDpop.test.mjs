// DPoP (RFC 9449) against real parts: the local oidc-provider (option `dpop`) issues bound tokens
// to openid-client's DPoP handle, and test/support/dpopResourceServer.mjs takes a bound token only
// with a proof for that very request, made with the key the token is bound to.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oidc from 'openid-client';

import { playAuthorization } from '../dist/demo/browserPlayer.js';
import {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  LOCAL_DPOP_CLIENT_ID,
  LOCAL_PUBLIC_CLIENT_ID,
  startLocalProvider,
} from '../dist/demo/localProvider.js';
import { makeDpopProof as proof, sha256 } from './support/dpopProof.mjs';
import { startDpopResourceServer } from './support/dpopResourceServer.mjs';
import { claimsOf, discover, getWithDpop, logIn } from './support/relyingParty.mjs';

const API = 'https://kms.example.test/';
const play = (url) => playAuthorization(url, { login: 'alice' });
// A JWT access token for the API: the code exchange must name the resource too.
const forApi = { params: { resource: API }, tokenParams: { resource: API } };
let provider;
let resource;

before(async () => {
  provider = await startLocalProvider({ dpop: {}, resources: [API] });
  resource = await startDpopResourceServer({
    issuer: provider.issuer,
    jwksUri: provider.jwksUri,
    audience: API,
    introspection: {
      url: `${provider.issuer}/token/introspection`,
      clientId: LOCAL_CONFIDENTIAL_CLIENT_ID,
      clientSecret: LOCAL_CONFIDENTIAL_CLIENT_SECRET,
    },
  });
});

after(async () => {
  await resource?.close();
  await provider?.close();
});

async function callResource(url, { method = 'GET', scheme = 'DPoP', token, dpop } = {}) {
  const headers = { authorization: `${scheme} ${token}`, ...(dpop ? { dpop } : {}) };
  const response = await fetch(url, { method, headers });
  return { status: response.status, body: await response.json() };
}

test("the DPoP-only client: no proof, no tokens; with openid-client's DPoP handle the tokens and the refresh token are bound to its key", async () => {
  const config = await discover(provider.issuer, LOCAL_DPOP_CLIENT_ID);
  const params = { resource: API };
  // oidc-provider words every invalid_grant the same; the same login with a proof then works.
  await assert.rejects(logIn(config, play, forApi), { error: 'invalid_grant' });
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const DPoP = oidc.getDPoPHandle(config, keyPair);
  const tokens = await logIn(config, play, { ...forApi, DPoP });
  const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
  assert.equal(tokens.token_type, 'dpop');
  assert.deepEqual(claimsOf(tokens.access_token).cnf, { jkt });

  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token, params), {
    error: 'invalid_grant',
  });
  const otherKey = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  await assert.rejects(
    oidc.refreshTokenGrant(config, tokens.refresh_token, params, { DPoP: otherKey }),
    { error: 'invalid_grant' },
  );
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token, params, { DPoP });
  assert.deepEqual(claimsOf(refreshed.access_token).cnf, { jkt });
});

test("a public client that sends a proof gets a bound refresh token too; a confidential client's stays unbound", async () => {
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const publicConfig = await discover(provider.issuer, LOCAL_PUBLIC_CLIENT_ID);
  const DPoP = oidc.getDPoPHandle(publicConfig, keyPair);
  const publicTokens = await logIn(publicConfig, play, { DPoP });
  assert.equal(publicTokens.token_type, 'dpop');
  await assert.rejects(oidc.refreshTokenGrant(publicConfig, publicTokens.refresh_token), {
    error: 'invalid_grant',
  });
  const again = await oidc.refreshTokenGrant(
    publicConfig,
    publicTokens.refresh_token,
    {},
    {
      DPoP,
    },
  );
  assert.equal(again.token_type, 'dpop', 'the refresh token still works with a proof');

  const auth = oidc.ClientSecretBasic(LOCAL_CONFIDENTIAL_CLIENT_SECRET);
  const confidential = await discover(provider.issuer, LOCAL_CONFIDENTIAL_CLIENT_ID, auth);
  const tokens = await logIn(confidential, play, {
    DPoP: oidc.getDPoPHandle(confidential, keyPair),
  });
  assert.equal(tokens.token_type, 'dpop');
  const refreshed = await oidc.refreshTokenGrant(confidential, tokens.refresh_token);
  assert.equal(refreshed.token_type, 'bearer', 'refreshed without a proof: an unbound token');
});

test('the resource server takes the bound token with its proof, and refuses another URL or method, a replay, another key, a bad ath and Bearer', async () => {
  const config = await discover(provider.issuer, LOCAL_DPOP_CLIENT_ID);
  const keyPair = await oidc.randomDPoPKeyPair('ES256');
  const DPoP = oidc.getDPoPHandle(config, keyPair);
  const jwtToken = (await logIn(config, play, { ...forApi, DPoP })).access_token;
  const opaqueToken = (await logIn(config, play, { DPoP })).access_token;
  assert.equal(opaqueToken.split('.').length, 1, 'without a resource: opaque, introspected');
  const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
  const url = `${resource.url}keys/k1?version=2`;

  for (const token of [jwtToken, opaqueToken]) {
    const response = await getWithDpop(config, token, url, DPoP);
    const body = await response.json();
    assert.equal(response.status, 200, body.reason);
    const seen = [body.accepted, body.scheme, body.jkt, body.sub];
    assert.deepEqual(seen, [true, 'DPoP', jkt, 'alice']);
    assert.equal(body.htu, `${resource.url}keys/k1`, 'htu compared without the query');
    assert.equal(body.via, token === jwtToken ? 'jwt' : 'introspection');
  }

  const ath = sha256(jwtToken);
  const good = { htm: 'GET', htu: url, ath };
  const refused = async (label, request, reason) => {
    const { status, body } = await callResource(url, { token: jwtToken, ...request });
    assert.equal(status, 401, label);
    assert.equal(body.accepted, false, label);
    assert.match(body.reason, reason, label);
  };
  const otherUrl = { ...good, htu: `${resource.url}keys/k2` };
  await refused('another URL', { dpop: await proof(keyPair, otherUrl) }, /htu/);
  const post = { method: 'POST', dpop: await proof(keyPair, good) };
  await refused('another method', post, /htm GET is not POST/);
  const once = await proof(keyPair, good);
  assert.equal((await callResource(url, { token: jwtToken, dpop: once })).status, 200);
  await refused('a replayed proof', { dpop: once }, /used before/);
  const stranger = await oidc.randomDPoPKeyPair('ES256');
  const foreign = { dpop: await proof(stranger, good) };
  await refused('another key', foreign, /not the one the token is bound to/);
  await refused('a bad ath', { dpop: await proof(keyPair, { ...good, ath: sha256('x') }) }, /ath/);
  const stale = { ...good, iat: Math.floor(Date.now() / 1000) - 600 };
  await refused('an old iat', { dpop: await proof(keyPair, stale) }, /iat/);
  await refused('no proof', {}, /0 DPoP headers/);
  await refused('typ JWT', { dpop: await proof(keyPair, good, { typ: 'JWT' }) }, /typ/);
  const bearer = { scheme: 'Bearer', dpop: await proof(keyPair, good) };
  await refused('as Bearer', bearer, /DPoP-bound token sent as Bearer/);
});

test('requireNonce: the token endpoint answers use_dpop_nonce with a DPoP-Nonce, and openid-client retries with it', async () => {
  const strict = await startLocalProvider({ dpop: { requireNonce: true } });
  try {
    const config = await discover(strict.issuer, LOCAL_DPOP_CLIENT_ID);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    strict.resetStats();
    const tokens = await logIn(config, play, { DPoP: oidc.getDPoPHandle(config, keyPair) });
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(strict.stats.grants.authorization_code, 2, 'refused once, then retried');

    const tokenUrl = config.serverMetadata().token_endpoint;
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: LOCAL_DPOP_CLIENT_ID,
    });
    const noNonce = await proof(keyPair, { htm: 'POST', htu: tokenUrl });
    const response = await fetch(tokenUrl, { method: 'POST', headers: { dpop: noNonce }, body });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error, 'use_dpop_nonce');
    const nonce = response.headers.get('dpop-nonce');
    assert.ok(nonce);
    const withNonce = await proof(keyPair, { htm: 'POST', htu: tokenUrl, nonce });
    const retried = await fetch(tokenUrl, { method: 'POST', headers: { dpop: withNonce }, body });
    assert.equal(retried.status, 200);
  } finally {
    await strict.close();
  }
});

test('a resource server that requires its nonce: the first call gets use_dpop_nonce, openid-client retries with it', async () => {
  const strict = await startDpopResourceServer({
    issuer: provider.issuer,
    jwksUri: provider.jwksUri,
    requireNonce: true,
  });
  try {
    const config = await discover(provider.issuer, LOCAL_DPOP_CLIENT_ID);
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const token = (await logIn(config, play, { ...forApi, DPoP })).access_token;
    const response = await getWithDpop(config, token, strict.url, DPoP);
    assert.equal(response.status, 200);
    assert.deepEqual(
      strict.requests.map((r) => [r.status, r.error]),
      [
        [401, 'use_dpop_nonce'],
        [200, undefined],
      ],
    );
  } finally {
    await strict.close();
  }
});
