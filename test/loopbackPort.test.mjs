// Port 0 in redirect_url (docs/configuration.md, RFC 8252 §7.3): each login listens on a free
// ephemeral port and sends that one in its authorization and token requests, so two logins on one
// host never collide. Against the local oidc-provider (a native client: any loopback port), through
// the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { makeSandbox, profileToml } from './support/harness.mjs';

/** Holds 127.0.0.1:17899, the default login port, for as long as the test runs. */
async function occupyDefaultPort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(17899, '127.0.0.1', resolve);
  });
  return server;
}

test('port 0: two concurrent logins, each on its own ephemeral port', async () => {
  const sb = await makeSandbox({
    config: (issuer) =>
      'default_profile = "a"\n' +
      profileToml('a', issuer, { redirect_url: 'http://127.0.0.1:0/authorization' }) +
      profileToml('b', issuer, { redirect_url: 'http://localhost:0/authorization' }),
  });
  const redirects = [];
  sb.provider.setFault((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') redirects.push(ctx.query.redirect_uri);
  });
  const busy = await occupyDefaultPort();
  try {
    assert.equal((await sb.cli(['start'])).code, 0);
    const [a, b] = await Promise.all([
      sb.cli(['login', '--profile', 'a']),
      sb.cli(['login', '--profile', 'b']),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(sb.provider.stats.grants.authorization_code, 2);

    const ports = redirects.map((uri) => Number(new URL(uri).port));
    assert.equal(ports.length, 2, `authorization requests: ${redirects.join(', ')}`);
    assert.ok(
      ports.every((port) => port > 0 && port !== 17899),
      `ephemeral ports, not 0 nor the busy default: ${ports}`,
    );
    assert.notEqual(ports[0], ports[1]);
    assert.deepEqual(
      redirects.map((uri) => new URL(uri).hostname).sort(),
      ['127.0.0.1', 'localhost'],
      'each with the host of its redirect_url',
    );

    for (const profile of ['a', 'b']) {
      const token = await sb.token(['--profile', profile]);
      assert.equal(token.code, 0, token.stderr);
    }
  } finally {
    busy.close();
    await sb.close();
  }
});
