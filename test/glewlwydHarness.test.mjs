// The second real provider (test/support/glewlwyd.mjs) does what tests will rely on: a fresh
// Glewlwyd whose issuer is the counting proxy, PKCE logins with a nonce, short lifetimes, rotated
// refresh tokens, revocation, the device flow, and nothing left behind by close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as oidc from 'openid-client';
import { startGlewlwyd } from './support/glewlwyd.mjs';
import { allCommandLines } from './support/processes.mjs';

const REDIRECT_URI = 'http://localhost:17899/authorization';
const SCOPE = 'openid email offline_access';

function discover(provider, clientId = provider.clientId, auth = oidc.None()) {
  return oidc.discovery(new URL(provider.issuer), clientId, undefined, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A whole login as the agent does it: PKCE S256, state and nonce; returns the callback URL and the tokens. */
async function logIn(provider, config, extra = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const params = {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  };
  const callback = await provider.playAuthorization(
    oidc.buildAuthorizationUrl(config, params).href,
  );
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { callback: new URL(callback), tokens };
}

/** A refresh request by hand, to see the bare answer; `secret` authenticates the client with HTTP Basic. */
function refreshRaw(config, refreshToken, secret) {
  const clientId = config.clientMetadata().client_id;
  const auth = secret
    ? { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` }
    : {};
  return fetch(config.serverMetadata().token_endpoint, {
    method: 'POST',
    headers: auth,
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(secret ? {} : { client_id: clientId }),
    }),
  });
}

const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));

test('glewlwyd: the proxy is the issuer; a login needs a nonce and gives an RS256 id_token with kid, email and iss', async () => {
  const provider = await startGlewlwyd();
  try {
    const config = await discover(provider);
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, provider.issuer);
    for (const endpoint of [
      'authorization_endpoint',
      'token_endpoint',
      'revocation_endpoint',
      'device_authorization_endpoint',
      'jwks_uri',
    ]) {
      assert.ok(
        metadata[endpoint]?.startsWith(`${provider.issuer}/`),
        `${endpoint}: ${metadata[endpoint]}`,
      );
    }
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);

    const noNonce = new URL(
      await provider.playAuthorization(
        oidc.buildAuthorizationUrl(config, {
          redirect_uri: REDIRECT_URI,
          scope: SCOPE,
          state: 'st',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        }).href,
      ),
    );
    assert.equal(noNonce.searchParams.get('error'), 'invalid_request');
    assert.equal(noNonce.searchParams.get('error_description'), 'nonce required');

    const { callback, tokens } = await logIn(provider, config);
    assert.equal(
      callback.searchParams.get('iss'),
      provider.issuer,
      'RFC 9207 iss in the authorization response',
    );
    assert.deepEqual(header(tokens.id_token), { typ: 'JWT', alg: 'RS256', kid: provider.kid });
    const claims = tokens.claims();
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.email, provider.user.email);
    assert.ok(tokens.refresh_token, 'a refresh token');
    assert.equal(provider.stats.grants.authorization_code, 1);
    assert.equal(provider.stats.byPath['/api/oidc/.well-known/openid-configuration'], 1);
  } finally {
    await provider.close();
  }
});

test('glewlwyd: short lifetimes; refresh rotates without an id_token; a replayed or revoked refresh token gets a bare 400', async () => {
  const provider = await startGlewlwyd({ accessTokenTtl: 5 });
  try {
    const config = await discover(provider);
    const { tokens } = await logIn(provider, config);
    assert.equal(tokens.expires_in, 5);
    assert.equal(
      tokens.claims().exp - tokens.claims().iat,
      5,
      'the id_token lives as long as the access token',
    );

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(
      refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token,
      'rotated',
    );
    assert.equal(refreshed.id_token, undefined);
    const replayed = await refreshRaw(config, tokens.refresh_token);
    assert.deepEqual([replayed.status, await replayed.text()], [400, '']);

    // Only an authenticated client may revoke: the public one is refused, the confidential one is not.
    const confidentialConfig = await discover(
      provider,
      provider.confidentialClientId,
      oidc.ClientSecretBasic(provider.clientSecret),
    );
    const { tokens: confidential } = await logIn(provider, confidentialConfig);
    const publicRevocation = await fetch(config.serverMetadata().revocation_endpoint, {
      method: 'POST',
      body: new URLSearchParams({ token: refreshed.refresh_token, client_id: provider.clientId }),
    });
    assert.equal(publicRevocation.status, 401);
    await oidc.tokenRevocation(confidentialConfig, confidential.refresh_token, {
      token_type_hint: 'refresh_token',
    });
    const afterRevocation = await refreshRaw(
      confidentialConfig,
      confidential.refresh_token,
      provider.clientSecret,
    );
    assert.deepEqual([afterRevocation.status, await afterRevocation.text()], [400, '']);
    assert.equal(provider.stats.revocations, 2);
    assert.equal(provider.stats.grants.refresh_token, 3);
  } finally {
    await provider.close();
  }
});

test('glewlwyd: approveDevice lets device polling finish for any login; close() leaves no process and no directory', async () => {
  const provider = await startGlewlwyd();
  const config = await discover(provider);
  const device = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE });
  assert.equal(device.interval, 1);
  assert.ok(device.verification_uri_complete.startsWith(`${provider.issuer}/device?`));
  await provider.approveDevice(device.verification_uri_complete, { login: 'carol' });
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
  assert.equal(tokens.claims().email, 'carol@example.com');
  assert.equal(provider.stats.grants['urn:ietf:params:oauth:grant-type:device_code'] >= 1, true);

  const { dir } = provider;
  assert.ok(existsSync(dir));
  await provider.close();
  await provider.close();
  assert.equal(existsSync(dir), false, 'its temp dir is removed');
  assert.deepEqual(
    allCommandLines().filter((p) => p.args.some((a) => a.startsWith(dir))),
    [],
    'no process of it is left',
  );
  await assert.rejects(fetch(provider.issuer), 'the proxy is closed too');
});
