// Delegation by token exchange (issue 22, RFC 8693): with --exchange, or a profile with
// token_exchange = true, the delegate gets tokens the provider mints from the user's access token,
// narrowed to the delegation's audience and scope, never the user's own; one exchange at creation,
// so a provider that refuses makes `delegate` fail at once. The provider here is oidc-provider
// with test/support/tokenExchangeGrant.mjs registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { CLI, jwtPayload, profileToml } from './support/harness.mjs';
import { loginViaRpc, makeIsolatedSandbox, withSandbox } from './support/reliability.mjs';
import { TOKEN_EXCHANGE, tokenExchangeGrant } from './support/tokenExchangeGrant.mjs';

const API = 'https://api.example';

const sandbox = (grant, profile = {}) =>
  makeIsolatedSandbox({
    provider: { grants: [grant] },
    profiles: (issuer, redirectUrl) =>
      profileToml('local', issuer, { redirect_url: redirectUrl, store: 'memory', ...profile }),
  });

test('delegate --exchange: the delegate gets a token minted for the narrowed audience and scope, acting for the user, never the user’s own', async (t) => {
  const sb = await sandbox(tokenExchangeGrant({ audiences: [API] }));
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb);
    const own = (await sb.token(['--access'])).stdout.trim();
    const twice = `${process.execPath} ${CLI} token; ${process.execPath} ${CLI} token`;
    const r = await sb.cli([
      'delegate',
      '--exchange',
      '--audience',
      API,
      '--scope',
      'openid',
      '--',
      'sh',
      '-c',
      twice,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [first, second] = r.stdout.trim().split('\n');
    sb.rememberSecret(first);
    assert.equal(first, second, 'cached: one exchange for both');
    assert.notEqual(first, own, "never the user's own token");
    const claims = jwtPayload(first);
    assert.equal(claims.aud, API);
    assert.equal(claims.scope, 'openid');
    assert.equal(claims.sub, 'alice', 'for the user');
    assert.deepEqual(claims.act, { sub: LOCAL_PUBLIC_CLIENT_ID }, 'as the provider says who acts');
    assert.equal(sb.provider.stats.grants[TOKEN_EXCHANGE], 1, 'one exchange, at creation');
    t.diagnostic(
      `exchanged token claims: aud ${claims.aud}, scope ${claims.scope}, act ${JSON.stringify(claims.act)}`,
    );
  });
});

test('token_exchange = true: every delegation of the profile exchanges; a provider that refuses fails `delegate` at once', async (t) => {
  const sb = await sandbox(tokenExchangeGrant({ audiences: [API], refuse: true }), {
    token_exchange: true,
  });
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb);
    const r = await sb.cli(['delegate', '--audience', API, '--', 'sh', '-c', 'echo CMD ran']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'CMD never ran');
    assert.match(
      r.stderr,
      /refused the token exchange \(RFC 8693\) for delegation [0-9a-f]+: unauthorized_client/,
    );
    assert.equal(sb.provider.stats.grants[TOKEN_EXCHANGE], 1);
    assert.deepEqual(JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout), []);
  });
});
