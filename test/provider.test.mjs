// The bundled local provider and the scripted browser, checked with openid-client as a plain RP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';

import { playAuthorization, playDeviceLogin } from '../dist/demo/browserPlayer.js';
import { LOCAL_PUBLIC_CLIENT_ID, startLocalProvider } from '../dist/demo/localProvider.js';

const REDIRECT_URI = 'http://localhost:17899/authorization';
const SCOPE = 'openid email offline_access';

let provider;
let config;

before(async () => {
  provider = await startLocalProvider();
  config = await client.discovery(
    new URL(provider.issuer),
    LOCAL_PUBLIC_CLIENT_ID,
    undefined,
    client.None(),
    {
      execute: [client.allowInsecureRequests],
    },
  );
});

after(() => provider.close());

/** Runs a whole PKCE login through the scripted browser and exchanges the code. */
async function login(loginName) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const callbackUrl = await playAuthorization(authorizationUrl.href, { login: loginName });
  return client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
}

test('PKCE login gives an RS256 id_token with kid, iss, sub, exp and email, verified by the JWKS', async () => {
  const tokens = await login('alice');

  const header = decodeProtectedHeader(tokens.id_token);
  assert.equal(header.alg, 'RS256');
  assert.ok(header.kid);
  const { payload } = await jwtVerify(
    tokens.id_token,
    createRemoteJWKSet(new URL(provider.jwksUri)),
    {
      issuer: provider.issuer,
      audience: LOCAL_PUBLIC_CLIENT_ID,
    },
  );
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.email, 'alice@example.com');
  assert.ok(payload.exp > Date.now() / 1000);
  assert.ok(tokens.refresh_token);
});

test('refresh rotates the refresh token; the old one then gives invalid_grant; grants are counted', async () => {
  const tokens = await login('bob');
  provider.resetStats();

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.ok(refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), {
    error: 'invalid_grant',
  });
  assert.deepEqual(provider.stats.grants, { refresh_token: 2 });
  assert.equal(provider.stats.byPath['/token'], 2);
});

test('a denied consent comes back as error=access_denied on the callback', async () => {
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
  });
  const callbackUrl = new URL(await playAuthorization(authorizationUrl.href, { deny: true }));
  assert.equal(callbackUrl.searchParams.get('error'), 'access_denied');
  assert.equal(callbackUrl.searchParams.get('code'), null);
});

test('device login through the provider pages yields tokens', async () => {
  const device = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
  await playDeviceLogin(device.verification_uri_complete, { login: 'carol' });
  // The login is already done, so poll at once instead of after the default 5 s interval.
  const tokens = await client.pollDeviceAuthorizationGrant(config, { ...device, interval: 0 });
  assert.equal(tokens.claims().sub, 'carol');
  assert.ok(tokens.refresh_token);
});

test('a fault makes the token endpoint answer 500 until it is cleared', async () => {
  const tokens = await login('dave');
  provider.setFault((ctx) => (ctx.path === '/token' ? { status: 500 } : undefined));
  try {
    // openid-client parses OAuth error bodies on 4xx only; a 5xx surfaces as the Response in `cause`.
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (error) => {
      assert.equal(error.code, 'OAUTH_RESPONSE_IS_NOT_CONFORM');
      assert.equal(error.cause.status, 500);
      return true;
    });
  } finally {
    provider.setFault(null);
  }
  assert.ok((await client.refreshTokenGrant(config, tokens.refresh_token)).access_token);
});

test('close() ends hung requests, so nothing keeps the process alive', async () => {
  const hanging = await startLocalProvider();
  hanging.setFault(() => 'hang');
  const request = fetch(`${hanging.issuer}/.well-known/openid-configuration`);
  while (hanging.stats.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await hanging.close();
  await assert.rejects(request);
  assert.equal(hanging.stats.requests, 1);
});
