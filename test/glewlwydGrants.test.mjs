// What Glewlwyd 2.7.5 (Debian) does beyond the browser login, found by trying and kept true here:
// the client credentials grant with a client secret or private_key_jwt (test/support/
// glewlwydGrants.mjs has the settings it takes), DPoP with bound tokens and its nonce, and what it
// does not do (token exchange, acr, a real auth_time).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

import { makeDpopProof as proof } from './support/dpopProof.mjs';
import { startDpopResourceServer } from './support/dpopResourceServer.mjs';
import { startGlewlwyd } from './support/glewlwyd.mjs';
import { claimsOf, discover, getWithDpop, logIn } from './support/relyingParty.mjs';
import {
  serviceClient,
  serviceClientsOfEveryKind,
  serviceConfig,
  SERVICE_SCOPE,
} from './support/serviceClients.mjs';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE } from './support/tokenExchangeGrant.mjs';

let provider;
let services;
let bound;

before(async () => {
  ({ bound, ...services } = await serviceClientsOfEveryKind());
  const serviceClients = [...Object.values(services), bound];
  provider = await startGlewlwyd({ serviceClients, dpop: {} });
});

after(() => provider?.close());

const play = (url) => provider.playAuthorization(url);

/**
 * A token request by hand, to see Glewlwyd's bare answers; `basic` is a secret service client to
 * authenticate with HTTP Basic; `issuer` another Glewlwyd's.
 */
async function tokenRequest(fields, { basic, dpop, issuer = provider.issuer } = {}) {
  const credentials = basic && Buffer.from(`${basic.clientId}:${basic.secret}`).toString('base64');
  const headers = {
    ...(basic ? { authorization: `Basic ${credentials}` } : {}),
    ...(dpop ? { dpop } : {}),
  };
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

test('glewlwyd: client credentials with client_secret_basic, client_secret_post and private_key_jwt (RS256, ES256, Ed25519) give JWT access tokens', async () => {
  const metadata = (await discover(provider.issuer, 'svcBasic')).serverMetadata();
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
    'client_secret_basic',
    'client_secret_post',
    'client_secret_jwt',
    'private_key_jwt',
  ]);
  // Glewlwyd does not list the grant it serves.
  assert.equal(metadata.grant_types_supported.includes('client_credentials'), false);
  const keys = createRemoteJWKSet(new URL(provider.jwksUri));
  provider.resetStats();
  for (const [name, service] of Object.entries(services)) {
    const config = await serviceConfig(provider.issuer, service);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: SERVICE_SCOPE });
    const answer = [tokens.token_type, tokens.scope, tokens.expires_in];
    assert.deepEqual(answer, ['bearer', SERVICE_SCOPE, 3600], name);
    assert.equal(tokens.refresh_token, undefined, name);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, keys, {
      issuer: provider.issuer,
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    // Without a resource indicator, `aud` is the scope list.
    const { clientId } = service;
    const seen = [payload.sub, payload.client_id, payload.aud, payload.scope];
    assert.deepEqual(seen, [clientId, clientId, SERVICE_SCOPE, SERVICE_SCOPE], name);
  }
  assert.equal(provider.stats.grants.client_credentials, 5);
});

test("glewlwyd: no scope, the other secret method, or a key client with openid-client's own assertion gets a bare 403", async () => {
  const { basic, post } = services;
  const noScope = await tokenRequest({ grant_type: 'client_credentials' }, { basic });
  assert.deepEqual([noScope.status, noScope.text], [403, '']);
  const postForBasic = await tokenRequest({
    grant_type: 'client_credentials',
    scope: SERVICE_SCOPE,
    client_id: basic.clientId,
    client_secret: basic.secret,
  });
  assert.deepEqual([postForBasic.status, postForBasic.text], [403, '']);
  const fields = { grant_type: 'client_credentials', scope: SERVICE_SCOPE };
  const basicForPost = await tokenRequest(fields, { basic: post });
  assert.equal(basicForPost.status, 403);
  // openid-client signs with aud = issuer (Glewlwyd wants its token endpoint) and an Ed25519
  // key as alg Ed25519 (Glewlwyd knows only EdDSA).
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const config = await serviceConfig(provider.issuer, services[alg], { asIs: true });
    const error = await oidc.clientCredentialsGrant(config, fields).catch((e) => e);
    assert.equal(error.cause?.status, 403, alg);
  }
  assert.match(provider.log(), /invalid jwt assertion content/);
  assert.match(provider.log(), /r_jws_extract_header - Invalid alg/);
});

test('glewlwyd: DPoP binds client credentials tokens and logins; the resource server takes them only with a proof', async () => {
  const { issuer, jwksUri } = provider;
  const resource = await startDpopResourceServer({ issuer, jwksUri });
  try {
    const boundConfig = await serviceConfig(provider.issuer, bound);
    const unproven = await oidc
      .clientCredentialsGrant(boundConfig, { scope: SERVICE_SCOPE })
      .catch((e) => e);
    assert.deepEqual([unproven.status, unproven.error], [403, 'invalid_dpop_proof']);

    const config = await serviceConfig(provider.issuer, services.ES256);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keyPair);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: SERVICE_SCOPE }, { DPoP });
    assert.equal(tokens.token_type, 'dpop');
    assert.ok(claimsOf(tokens.access_token).cnf.jkt);
    const url = new URL(`${resource.url}keys`);
    const response = await getWithDpop(config, tokens.access_token, url, DPoP);
    const body = await response.json();
    assert.deepEqual([response.status, body.accepted, body.sub], [200, true, 'svcEc'], body.reason);
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const asBearer = await fetch(url, { headers: bearer });
    assert.equal(asBearer.status, 401);

    // The DPoP-only public client: no proof, no tokens; with one, bound tokens and refresh token.
    const login = await discover(provider.issuer, provider.dpopClientId);
    const failed = await logIn(login, play).catch((e) => e);
    assert.equal(failed.error, 'invalid_dpop_proof');
    const loginDPoP = oidc.getDPoPHandle(login, await oidc.randomDPoPKeyPair('ES256'));
    const user = await logIn(login, play, { DPoP: loginDPoP });
    assert.equal(user.token_type, 'dpop');
    const refusedRefresh = await oidc.refreshTokenGrant(login, user.refresh_token).catch((e) => e);
    assert.equal(refusedRefresh.error, 'invalid_dpop_proof');
    const refreshed = await oidc.refreshTokenGrant(
      login,
      user.refresh_token,
      {},
      {
        DPoP: loginDPoP,
      },
    );
    assert.equal(claimsOf(refreshed.access_token).cnf.jkt, claimsOf(user.access_token).cnf.jkt);
    const userCall = await getWithDpop(login, refreshed.access_token, url, loginDPoP);
    assert.equal(userCall.status, 200);
  } finally {
    await resource.close();
  }
});

test('glewlwyd: a mandatory DPoP nonce: 400 use_dpop_nonce with a DPoP-Nonce header, which openid-client honours', async () => {
  const service = await serviceClient('svcNonce', 'client_secret_basic');
  const strict = await startGlewlwyd({ serviceClients: [service], dpop: { requireNonce: true } });
  try {
    const config = await serviceConfig(strict.issuer, service);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const tokenUrl = config.serverMetadata().token_endpoint;
    const fields = { grant_type: 'client_credentials', scope: SERVICE_SCOPE };
    const sent = async (claims) => {
      const dpop = await proof(keyPair, { htm: 'POST', htu: tokenUrl, ...claims });
      return tokenRequest(fields, { basic: service, dpop, issuer: strict.issuer });
    };
    const first = await sent({});
    assert.equal(first.status, 400);
    assert.deepEqual(JSON.parse(first.text), {
      error: 'use_dpop_nonce',
      error_description: 'Authorization server requires nonce in DPoP proof',
    });
    const nonce = first.headers.get('dpop-nonce');
    assert.ok(nonce);
    assert.equal((await sent({ nonce })).status, 200);

    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    strict.resetStats();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: SERVICE_SCOPE }, { DPoP });
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(strict.stats.grants.client_credentials, 2, 'refused once, then retried');
  } finally {
    await strict.close();
  }
});

test('glewlwyd: no token exchange (a bare 400), no acr (acr_values ignored), and auth_time is always 0', async () => {
  const config = await discover(provider.issuer, provider.clientId);
  assert.equal(config.serverMetadata().acr_values_supported, undefined);
  const params = { acr_values: 'urn:kms-agent:acr:mfa', max_age: '300' };
  const user = await logIn(config, play, { params });
  const claims = user.claims();
  assert.deepEqual([claims.acr, claims.amr, claims.auth_time], [undefined, ['password'], 0]);
  await assert.rejects(logIn(config, play, { params, checks: { maxAge: 300 } }), {
    code: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  });
  const { basic } = services;
  const exchange = await tokenRequest(
    {
      grant_type: TOKEN_EXCHANGE,
      subject_token: user.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      scope: 'email',
    },
    { basic },
  );
  assert.deepEqual([exchange.status, exchange.text], [400, '']);
  // The same bare 400 as a grant type that does not exist.
  const unknown = await tokenRequest({ grant_type: 'urn:example:no-such-grant' }, { basic });
  assert.deepEqual([unknown.status, unknown.text], [400, '']);
});
