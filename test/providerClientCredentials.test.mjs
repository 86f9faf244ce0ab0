// The local oidc-provider's client credentials grant (startLocalProvider's clientCredentialsTtl),
// checked with openid-client as a service would use it: a client secret (basic or post) or a
// private key (private_key_jwt, RFC 7523) with RS256, ES256 and Ed25519 keys.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

import { startLocalProvider } from '../dist/demo/localProvider.js';
import { discover } from './support/relyingParty.mjs';
import {
  oidcProviderClient,
  serviceClient,
  serviceClientsOfEveryKind,
  serviceConfig,
  SERVICE_SCOPE,
} from './support/serviceClients.mjs';

const API = 'https://kms.example.test/';
const FOR_API = { scope: SERVICE_SCOPE, resource: API };
let provider;
let services;
let bound;

before(async () => {
  ({ bound, ...services } = await serviceClientsOfEveryKind());
  provider = await startLocalProvider({
    clientCredentialsTtl: 120,
    resources: [API],
    resourceScopes: [SERVICE_SCOPE],
    clients: [...Object.values(services), bound].map(oidcProviderClient),
  });
});

after(() => provider?.close());

test('client credentials: secret basic, secret post and private_key_jwt (RS256, ES256, Ed25519) each get a JWT for the resource', async () => {
  const metadata = (await discover(provider.issuer, 'svcBasic')).serverMetadata();
  assert.ok(metadata.grant_types_supported.includes('client_credentials'));
  for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt']) {
    assert.ok(metadata.token_endpoint_auth_methods_supported.includes(method), method);
  }
  const keys = createRemoteJWKSet(new URL(provider.jwksUri));
  provider.resetStats();
  for (const [name, service] of Object.entries(services)) {
    const config = await serviceConfig(provider.issuer, service);
    const tokens = await oidc.clientCredentialsGrant(config, FOR_API);
    assert.equal(tokens.token_type, 'bearer', name);
    assert.equal(tokens.expires_in, 120, `${name}: ttl.ClientCredentials`);
    assert.equal(tokens.scope, SERVICE_SCOPE, name);
    assert.equal(tokens.refresh_token, undefined, `${name}: no refresh token`);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, keys, {
      issuer: provider.issuer,
      audience: API,
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.deepEqual([payload.sub, payload.client_id], [service.clientId, service.clientId]);
    assert.equal(payload.scope, SERVICE_SCOPE);
    assert.equal(payload.exp - payload.iat, 120);
  }
  assert.equal(provider.stats.grants.client_credentials, 5);
});

test('without a resource the token is opaque, a scope the provider does not list is dropped, and introspection knows it', async () => {
  const config = await serviceConfig(provider.issuer, services.ES256);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: `openid ${SERVICE_SCOPE}` });
  assert.equal(tokens.access_token.split('.').length, 1, 'opaque');
  assert.equal(tokens.scope, 'openid');
  const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(introspection.active, true);
  assert.equal(introspection.client_id, 'svcEc');
  assert.equal(introspection.sub, undefined);
});

test("private_key_jwt: openid-client's own assertion (aud = issuer, alg Ed25519) works too; the kid is the key's thumbprint", async () => {
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const config = await serviceConfig(provider.issuer, services[alg], { asIs: true });
    const tokens = await oidc.clientCredentialsGrant(config, FOR_API);
    assert.ok(tokens.access_token, alg);
  }
  const { kid, use, ...jwk } = services.ES256.publicJwk;
  assert.equal(use, 'sig');
  assert.equal(kid, await calculateJwkThumbprint(jwk));
});

test('a wrong secret or an assertion signed by another key is invalid_client; oidc-provider takes either secret method', async () => {
  const wrongSecret = { ...services.basic, secret: 'not-the-secret' };
  const otherKey = await serviceClient('svcEc', 'private_key_jwt', { alg: 'ES256' });
  for (const service of [wrongSecret, otherKey]) {
    const config = await serviceConfig(provider.issuer, service);
    const error = await oidc.clientCredentialsGrant(config, FOR_API).catch((e) => e);
    assert.equal(error.status, 401, service.auth);
    // HTTP Basic failures come as a WWW-Authenticate challenge, the others in the body.
    const code = error.error ?? error.cause?.[0]?.parameters?.error;
    assert.equal(code, 'invalid_client', service.auth);
  }
  // Unlike Glewlwyd, oidc-provider 9 accepts client_secret_post from a client_secret_basic client.
  const postForBasic = { ...services.basic, auth: 'client_secret_post' };
  const config = await serviceConfig(provider.issuer, postForBasic);
  assert.ok((await oidc.clientCredentialsGrant(config, { scope: SERVICE_SCOPE })).access_token);
  // A login client may not use the grant.
  const metadata = config.serverMetadata();
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'kms-agent-test' }),
  });
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error, 'invalid_request');
});

test('a DPoP-bound service client gets nothing without a proof, and a DPoP token with one', async () => {
  const config = await serviceConfig(provider.issuer, bound);
  await assert.rejects(oidc.clientCredentialsGrant(config, FOR_API), { error: 'invalid_grant' });
  const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const tokens = await oidc.clientCredentialsGrant(config, FOR_API, { DPoP });
  assert.equal(tokens.token_type, 'dpop');
});

test('a provider started without the new options offers none of them (its defaults are unchanged)', async () => {
  const plain = await startLocalProvider();
  try {
    const metadata = (await discover(plain.issuer, 'kms-agent-test')).serverMetadata();
    assert.equal(metadata.grant_types_supported.includes('client_credentials'), false);
    const exchange = metadata.grant_types_supported.some((type) => type.includes('token-exchange'));
    assert.equal(exchange, false);
    assert.equal(metadata.acr_values_supported, undefined);
    // DPoP as oidc-provider 9 ships it: on, without the DPoP-only client.
    assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'Ed25519', 'EdDSA']);
    const response = await fetch(metadata.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: 'kms-agent-dpop',
      }),
    });
    assert.equal((await response.json()).error, 'invalid_client');
  } finally {
    await plain.close();
  }
});
