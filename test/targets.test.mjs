// Scoped and audience tokens (`token --scope S --audience A`): obtained with the stored refresh
// token (RFC 8707 `resource`), cached per target, never replacing the profile's main token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { TargetCache } from '../dist/daemon/targetCache.js';
import { tokenTarget } from '../dist/provider/tokenTarget.js';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { jwtPayload, makeSandbox, profileToml } from './support/harness.mjs';

const KMS = 'https://kms.example.com';
const OTHER_API = 'https://other-api.example.com';

/** A sandbox whose provider knows the KMS resource, logged in with it (a refresh can only use resources asked for at login). */
async function loggedIn() {
  const sb = await makeSandbox({
    provider: { resources: [KMS] },
    profile: { resource: KMS, store: 'file' },
  });
  await sb.login();
  return sb;
}

const refreshes = (sb) => sb.provider.stats.grants.refresh_token ?? 0;

test('an audience token has the requested resource as aud, is served twice with one provider call, and leaves the main token alone', async () => {
  const sb = await loggedIn();
  try {
    const main = (await sb.token()).stdout.trim();
    const requestsBefore = sb.provider.stats.requests;

    const first = await sb.token(['--audience', KMS, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const second = await sb.token(['--audience', KMS, '--json']);
    const reply = JSON.parse(first.stdout);
    assert.equal(
      JSON.parse(second.stdout).token,
      reply.token,
      'the second one came from the cache',
    );
    assert.equal(sb.provider.stats.requests - requestsBefore, 1, 'one provider call for both');
    assert.equal(refreshes(sb), 1);

    // An access token for the KMS: a JWT for that audience, with what the KMS checks.
    assert.notEqual(reply.token, main);
    assert.equal(reply.profile, 'local');
    const { payload } = await jwtVerify(
      reply.token,
      createRemoteJWKSet(new URL(sb.provider.jwksUri)),
      {
        issuer: sb.provider.issuer,
        audience: KMS,
      },
    );
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');

    // The main token is still the login's, served without a provider call. With `resource` in the
    // profile, `token = "auto"` serves the access token (bound to that resource at login); --id the id_token.
    const requestsAfter = sb.provider.stats.requests;
    assert.equal((await sb.token()).stdout.trim(), main);
    assert.equal(jwtPayload(main).aud, KMS);
    assert.equal(jwtPayload((await sb.token(['--id'])).stdout.trim()).aud, LOCAL_PUBLIC_CLIENT_ID);
    assert.equal(sb.provider.stats.requests, requestsAfter);
  } finally {
    await sb.close();
  }
});

test('scoped tokens: one refresh for concurrent callers, one cache entry per (scopes, audience), min_valid honoured', async () => {
  const sb = await loggedIn();
  try {
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => AgentClient.connect(sb.socketPath)),
    );
    try {
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          clients[i % 10].call('token.get', { scope: 'email openid', audience: KMS }),
        ),
      );
      assert.equal(refreshes(sb), 1, 'exactly one refresh for 100 concurrent requests');
      const tokens = new Set(replies.map((r) => r.token));
      assert.equal(tokens.size, 1);
      const scoped = [...tokens][0];
      sb.rememberSecret(scoped);
      assert.equal(jwtPayload(scoped).scope, 'openid email');

      // The same scopes in another order, with repeats, are the same target.
      assert.equal(
        (await clients[0].call('token.get', { scope: ' openid  email openid', audience: KMS }))
          .token,
        scoped,
      );
      assert.equal(refreshes(sb), 1);

      // Another target is another entry.
      const audienceOnly = await clients[0].call('token.get', { audience: KMS });
      sb.rememberSecret(audienceOnly.token);
      assert.notEqual(audienceOnly.token, scoped);
      assert.equal(refreshes(sb), 2);

      // min_valid above the provider's whole token lifetime: the freshest token is served, and no
      // refresh is made before it is half used (asking again would only bring the same lifetime).
      const fresher = await clients[0].call('token.get', {
        scope: 'openid email',
        audience: KMS,
        min_valid: 86_400,
      });
      assert.equal(fresher.token, scoped);
      assert.equal(refreshes(sb), 2);
      assert.equal(
        (await clients[0].call('token.get', { audience: KMS })).token,
        audienceOnly.token,
      );

      // --id is still the id_token; a target otherwise serves its access token.
      const id = await clients[0].call('token.get', { audience: KMS, kind: 'id' });
      assert.equal(jwtPayload(id.token).aud, LOCAL_PUBLIC_CLIENT_ID);
    } finally {
      clients.forEach((c) => c.close());
    }
  } finally {
    await sb.close();
  }
});

test('an unknown scope: clear PROVIDER_ERROR, and the main token and the login are untouched', async () => {
  const sb = await loggedIn();
  try {
    const main = (await sb.token()).stdout.trim();

    const r = await sb.token(['--scope', 'admin']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /the identity provider refused a token for scope "admin" of profile local \(invalid_scope: refresh token missing requested scope\)/,
    );
    assert.match(r.stderr, /profile local logs in with "openid email offline_access"/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');

    const rpcError = await sb.rpc('token.get', { scope: 'admin' }).catch((e) => e);
    assert.equal(rpcError.reason, 'PROVIDER_ERROR');

    // Main token served as before, from the cache; status shows no error for the profile.
    const requests = sb.provider.stats.requests;
    assert.equal((await sb.token()).stdout.trim(), main);
    assert.equal(sb.provider.stats.requests, requests);
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];
    assert.equal(status.logged_in, true);
    assert.equal(status.last_error, undefined);

    // The refresh token still works: after a restart the main token refreshes, and so does a valid target.
    const refreshesBefore = refreshes(sb);
    assert.equal((await sb.cli(['stop'])).code, 0);
    const refreshed = await sb.token(['--id']);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.equal(jwtPayload(refreshed.stdout.trim()).sub, 'alice');
    assert.equal((await sb.token(['--scope', 'openid'])).code, 0);
    assert.equal(refreshes(sb) - refreshesBefore, 2);
  } finally {
    await sb.close();
  }
});

test('an audience not requested at login: clear PROVIDER_ERROR naming the fix; the main token is still served', async () => {
  const sb = await loggedIn();
  try {
    const main = (await sb.token()).stdout.trim();
    const r = await sb.token(['--audience', OTHER_API]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`refused a token for audience ${OTHER_API} of profile local \\(invalid_target`),
    );
    assert.match(
      r.stderr,
      new RegExp(`set resource = "${OTHER_API}" in profile local and log in again`),
    );
    // oidc-provider rotates the refresh token before checking the resource, so only the cached
    // main token survives this: it is served until it expires.
    assert.equal((await sb.token()).stdout.trim(), main);
  } finally {
    await sb.close();
  }
});

test('the audience parameter is sent only for profiles that use it; resource always', async () => {
  const sb = await makeSandbox({
    provider: { resources: [KMS] },
    config: (issuer) =>
      profileToml('rfc8707', issuer, { resource: KMS, store: 'memory' }) +
      profileToml('auth0like', issuer, { resource: KMS, audience: KMS, store: 'memory' }),
  });
  try {
    const bodies = [];
    sb.provider.setFault((ctx) => {
      if (ctx.state.grantType === 'refresh_token')
        bodies.push(new URLSearchParams(ctx.request.body));
      return undefined;
    });
    for (const profile of ['rfc8707', 'auth0like']) {
      await sb.login(['--profile', profile]);
      const r = await sb.token([
        '--profile',
        profile,
        '--audience',
        KMS,
        '--scope',
        'openid email',
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(bodies.length, 2);
    const [rfc, auth0] = bodies;
    assert.deepEqual(
      [rfc.get('resource'), rfc.get('audience'), rfc.get('scope')],
      [KMS, null, 'email openid'],
    );
    assert.deepEqual([auth0.get('resource'), auth0.get('audience')], [KMS, KMS]);
  } finally {
    await sb.close();
  }
});

test('targets are normalised and checked before anything is sent', async () => {
  assert.equal(tokenTarget('b a a', undefined).key, tokenTarget('a b', undefined).key);
  assert.notEqual(tokenTarget('a', undefined).key, tokenTarget(undefined, 'a').key);
  assert.equal(tokenTarget(undefined, undefined).key, '');
  assert.throws(() => tokenTarget('a "b"', undefined), { reason: 'INVALID_PARAMS' });
  assert.throws(() => tokenTarget('   ', undefined), { reason: 'INVALID_PARAMS' });
});

test('the target cache drops targets unused for the idle time, and the least recently used beyond its size', () => {
  let now = 1_000_000;
  const cache = new TargetCache({ maxEntries: 3, idleMs: 60_000, now: () => now });
  const entry = () => ({ lastUsedMs: 0 });
  try {
    cache.set('a', entry());
    now += 10_000;
    cache.set('b', entry());
    now += 10_000;
    cache.set('c', entry());
    cache.get('a').lastUsedMs = now; // a client was served from "a" just now
    now += 10_000;
    cache.set('d', entry());
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b'), undefined, 'the least recently used one went');
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d'));

    now += 45_000; // c was last used 55 s ago, a 55 s ago, d 45 s ago
    cache.sweep();
    assert.equal(cache.size, 3);
    now += 10_000;
    cache.sweep();
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].filter((k) => cache.get(k)),
      ['d'],
      'idle for a minute: dropped',
    );
  } finally {
    cache.clear();
  }
});
