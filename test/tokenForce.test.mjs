// `kms-agent token --force` (docs/cli.md): a new token now, whatever the cache holds; concurrent
// forced calls share one refresh, and at most one forced refresh a second reaches the provider.
// Against the local oidc-provider, through the built CLI and the real socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeSandbox } from './support/harness.mjs';

test('token --force: a new token; concurrent forced calls share one refresh, one a second', async () => {
  const sb = await makeSandbox({ profile: { store: 'file', token: 'access' } });
  const refreshes = () => sb.provider.stats.grants.refresh_token ?? 0;
  try {
    await sb.login();
    const cached = await sb.token();
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal(refreshes(), 0, 'the login token is cached');

    const forced = await sb.token(['--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(forced.stdout, cached.stdout, 'a new token, although the cached one is valid');
    assert.equal(refreshes(), 1);
    assert.equal(
      (await sb.token()).stdout,
      forced.stdout,
      'the forced token is the cached one now',
    );

    // After a second: eight forced calls at once, one refresh, one token for all.
    await sleep(1100);
    const many = await Promise.all(
      Array.from({ length: 8 }, () => sb.rpc('token.get', { force: true })),
    );
    assert.equal(refreshes(), 2, 'one refresh for eight concurrent forced calls');
    assert.equal(new Set(many.map((reply) => reply.token)).size, 1);
    assert.notEqual(many[0].token, forced.stdout.trim());
    many.forEach((reply) => sb.rememberSecret(reply.token));

    // Forced again within the second: answered with that refresh, none reaches the provider.
    for (let i = 0; i < 5; i++) {
      const again = await sb.rpc('token.get', { force: true });
      assert.equal(again.token, many[0].token);
    }
    assert.equal(refreshes(), 2, 'no forced refresh within a second of the last');

    await sleep(1100);
    const later = await sb.token(['--force', '--json']);
    assert.equal(later.code, 0, later.stderr);
    assert.notEqual(JSON.parse(later.stdout).token, many[0].token);
    assert.equal(refreshes(), 3);

    // Not logged in: a forced token is an error, never the cached one it was asked to replace.
    assert.equal((await sb.cli(['logout'])).code, 0);
    const loggedOut = await sb.token(['--force']);
    assert.equal(loggedOut.code, 5, loggedOut.stderr);
    assert.match(loggedOut.stderr, /kms-agent login --profile local/);
  } finally {
    await sb.close();
  }
});
