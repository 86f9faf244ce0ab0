// RFC 8693 token exchange at the local oidc-provider, with the grant of
// test/support/tokenExchangeGrant.mjs: a narrowed JWT for one known audience with an `act`
// claim, and the refusals a delegation must be able to tell apart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';

import { playAuthorization } from '../dist/demo/browserPlayer.js';
import { LOCAL_PUBLIC_CLIENT_ID, startLocalProvider } from '../dist/demo/localProvider.js';
import { discover, logIn } from './support/relyingParty.mjs';
import {
  ACCESS_TOKEN_TYPE,
  TOKEN_EXCHANGE,
  tokenExchangeGrant,
} from './support/tokenExchangeGrant.mjs';

const KMS = 'https://kms.example.test/';
const BACKUP = 'https://backup.example.test/';
const play = (url) => playAuthorization(url, { login: 'alice' });
let provider;
let config;

before(async () => {
  provider = await startLocalProvider({
    resources: [KMS],
    resourceScopes: ['kms.read', 'kms.write'],
    grants: [tokenExchangeGrant({ audiences: [KMS, BACKUP], ttl: 120 })],
  });
  config = await discover(provider.issuer, LOCAL_PUBLIC_CLIENT_ID);
});

after(() => provider?.close());

/** The exchange as a delegating agent sends it: the user's token, a narrowed audience and scope. */
function exchange(subjectToken, extra = {}, on = config) {
  return oidc.genericGrantRequest(on, TOKEN_EXCHANGE, {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });
}

async function verified(token, audience) {
  const keys = createRemoteJWKSet(new URL(provider.jwksUri));
  const checks = { issuer: provider.issuer, audience, typ: 'at+jwt' };
  return (await jwtVerify(token, keys, checks)).payload;
}

test("an opaque user token is exchanged for a JWT with the narrowed audience and scope, the user's sub and act", async () => {
  assert.ok(config.serverMetadata().grant_types_supported.includes(TOKEN_EXCHANGE));
  const user = await logIn(config, play);
  provider.resetStats();
  const issued = await exchange(user.access_token, { audience: BACKUP, scope: 'email' });
  assert.equal(issued.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(issued.token_type, 'bearer');
  assert.equal(issued.expires_in, 120);
  assert.equal(issued.scope, 'email');
  const claims = await verified(issued.access_token, BACKUP);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.scope, 'email');
  assert.equal(claims.client_id, LOCAL_PUBLIC_CLIENT_ID);
  assert.deepEqual(claims.act, { sub: LOCAL_PUBLIC_CLIENT_ID });
  assert.equal(claims.email, 'alice@example.com', 'JWTs for a resource carry the email');
  assert.deepEqual(provider.stats.grants, { [TOKEN_EXCHANGE]: 1 });
});

test('a JWT user token (for a resource) is exchanged too; exchanging the result nests act', async () => {
  const user = await logIn(config, play, {
    scope: 'openid kms.read kms.write',
    params: { resource: KMS },
    tokenParams: { resource: KMS },
  });
  assert.equal((await verified(user.access_token, KMS)).scope, 'kms.read kms.write');
  const readOnly = await exchange(user.access_token, { resource: KMS, scope: 'kms.read' });
  assert.equal((await verified(readOnly.access_token, KMS)).scope, 'kms.read');
  const again = await exchange(readOnly.access_token, { audience: BACKUP });
  const claims = await verified(again.access_token, BACKUP);
  assert.equal(claims.scope, 'kms.read', "no scope asked: the subject token's");
  const client = LOCAL_PUBLIC_CLIENT_ID;
  assert.deepEqual(claims.act, { sub: client, act: { sub: client } });
});

test('refused: a wider scope (invalid_scope), an unknown audience (invalid_target), a bad or revoked token (invalid_request)', async () => {
  const user = await logIn(config, play, { scope: 'openid email' });
  await assert.rejects(exchange(user.access_token, { audience: BACKUP, scope: 'email profile' }), {
    error: 'invalid_scope',
  });
  await assert.rejects(exchange(user.access_token, { audience: 'https://elsewhere.test/' }), {
    error: 'invalid_target',
  });
  const twoAudiences = new URLSearchParams([
    ['subject_token', user.access_token],
    ['subject_token_type', ACCESS_TOKEN_TYPE],
    ['audience', KMS],
    ['audience', BACKUP],
  ]);
  await assert.rejects(oidc.genericGrantRequest(config, TOKEN_EXCHANGE, twoAudiences), {
    error: 'invalid_target',
    error_description: 'name exactly one audience (audience or resource)',
  });
  await assert.rejects(exchange('not-a-token', { audience: BACKUP }), { error: 'invalid_request' });
  await assert.rejects(
    exchange(user.access_token, { audience: BACKUP, subject_token_type: 'urn:x' }),
    { error: 'invalid_request' },
  );
  assert.ok((await exchange(user.access_token, { audience: BACKUP })).access_token);
  await oidc.tokenRevocation(config, user.access_token);
  await assert.rejects(exchange(user.access_token, { audience: BACKUP }), {
    error: 'invalid_request',
  });
});

test('refuse: a provider that refuses every exchange answers unauthorized_client; one without the grant unsupported_grant_type', async () => {
  const refusing = tokenExchangeGrant({ audiences: [BACKUP], refuse: true });
  for (const [options, error] of [
    [{ grants: [refusing] }, 'unauthorized_client'],
    [{}, 'unsupported_grant_type'],
  ]) {
    const other = await startLocalProvider(options);
    try {
      const on = await discover(other.issuer, LOCAL_PUBLIC_CLIENT_ID);
      const user = await logIn(on, play);
      await assert.rejects(exchange(user.access_token, { audience: BACKUP }, on), { error });
    } finally {
      await other.close();
    }
  }
});
