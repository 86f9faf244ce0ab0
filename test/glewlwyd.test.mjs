// Logins against Glewlwyd (a second real OpenID provider, test/support/glewlwyd.mjs), through the
// built CLI as a user runs it: it requires a nonce, sends an RFC 9207 `iss` whose issuer is not
// its token URL's origin, and renews no id_token on refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { loginDevice } from './support/deviceLogin.mjs';
import { logRecords, makeGlewlwydSandbox } from './support/harness.mjs';

const hasSecretService = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);

/** A profile with the provider's endpoints written out and no issuer: the agent knows no issuer before the first login. */
function explicitProfile(issuer, extra = '') {
  return `[profiles.local]
client_id = "kms-agent-test"
authorize_url = "${issuer}/auth"
token_url = "${issuer}/token"
store = "file"
${extra}`;
}

/** Checks a JWT as the Cosmian KMS does: signature by the provider's JWKS, RS256 with a kid, iss, sub, exp, email. */
async function verifyLikeKms(jwt, provider) {
  const header = decodeProtectedHeader(jwt);
  assert.equal(header.alg, 'RS256');
  assert.equal(header.kid, provider.kid, 'the JWT names its key');
  const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(provider.jwksUri)), {
    issuer: provider.issuer,
    audience: provider.clientId,
    algorithms: ['RS256'],
  });
  assert.ok(typeof payload.sub === 'string' && payload.sub.length > 0, 'sub');
  assert.ok(payload.exp > Date.now() / 1000, 'exp in the future');
  return payload;
}

/**
 * What the fake browser saw of each callback (test/support/browser.mjs, FAKE_BROWSER_LOG). The
 * browser writes its line after the agent answered it, so `login` may return first: wait for it.
 */
async function callbacksSeen(sb, count = 1) {
  const file = join(sb.dir, 'callbacks.jsonl');
  const read = () =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line))
      : [];
  for (let i = 0; i < 100 && read().length < count; i++)
    await new Promise((r) => setTimeout(r, 50));
  return read();
}

/** The authorization requests that reached the provider, as parameter objects (not its login page's continuations). */
function recordAuthorizationRequests(provider) {
  const seen = [];
  provider.setFault(({ method, path, query }) => {
    if (method === 'GET' && path === '/api/oidc/auth' && !query.has('g_continue'))
      seen.push(Object.fromEntries(query));
    return undefined;
  });
  return seen;
}

test('glewlwyd: logins through the CLI', async (t) => {
  await t.test(
    'browser login with discovery sends a nonce; the id_token passes the KMS checks',
    async () => {
      const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
      try {
        sb.env.FAKE_BROWSER_LOG = join(sb.dir, 'callbacks.jsonl');
        const requests = recordAuthorizationRequests(sb.provider);
        const r = await sb.login();
        assert.equal(r.stdout, 'logged in to profile local as alice@example.com\n');
        assert.equal(requests.length, 1);
        assert.ok(requests[0].nonce?.length >= 32, 'a fresh nonce on the authorization request');
        assert.equal(
          requests[0].prompt,
          'consent',
          'offline_access is asked for with prompt=consent',
        );
        assert.deepEqual(
          await callbacksSeen(sb),
          [{ status: 200, iss: sb.provider.issuer, error: null }],
          'Glewlwyd sent an RFC 9207 iss',
        );

        const token = await sb.token();
        assert.equal(token.code, 0, token.stderr);
        const claims = await verifyLikeKms(token.stdout.trim(), sb.provider);
        assert.equal(claims.email, 'alice@example.com');
        assert.equal(claims.nonce, requests[0].nonce, 'the id_token is bound to this login');
        const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];
        assert.equal(status.subject, claims.sub);
        assert.equal(status.has_refresh_token, true);
        assert.deepEqual(sb.provider.stats.grants, { authorization_code: 1 });
      } finally {
        await sb.close();
      }
    },
  );
  await t.test(
    'browser login with explicit endpoints; its RFC 9207 iss is not held to the token URL origin, then held to the learned issuer',
    async () => {
      const sb = await makeGlewlwydSandbox({ config: (issuer) => explicitProfile(issuer) });
      try {
        sb.env.FAKE_BROWSER_LOG = join(sb.dir, 'callbacks.jsonl');
        const first = await sb.cli(['login']);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(first.stdout, 'logged in to profile local as alice@example.com\n');
        assert.notEqual(
          new URL(sb.provider.issuer).pathname,
          '/',
          'the issuer is not the token URL origin',
        );
        assert.equal(
          sb.provider.stats.byPath['/api/oidc/.well-known/openid-configuration'],
          undefined,
          'no discovery without issuer',
        );

        const token = await sb.token();
        assert.equal(token.code, 0, token.stderr);
        assert.equal(
          (await verifyLikeKms(token.stdout.trim(), sb.provider)).email,
          'alice@example.com',
        );

        // The second login's iss is held to the issuer the first login's id_token named: it matches.
        await sb.provider.userNamed('bob');
        const second = await sb.cli(['login'], { env: { FAKE_BROWSER_LOGIN: 'bob' } });
        assert.equal(second.code, 0, second.stderr);
        assert.match(
          second.stdout,
          /^logged in to profile local as bob@example\.com \(was \S+\)\n$/,
        );
        assert.deepEqual(
          (await callbacksSeen(sb, 2)).map((c) => [c.status, c.iss]),
          [
            [200, sb.provider.issuer],
            [200, sb.provider.issuer],
          ],
        );
        assert.equal(sb.provider.stats.grants.authorization_code, 2);
      } finally {
        await sb.close();
      }
    },
  );
  await t.test('device login; the id_token passes the KMS checks', async () => {
    const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
    try {
      await sb.provider.userNamed('carol');
      const login = loginDevice(sb);
      const link = await login.link;
      assert.ok(
        link.startsWith(`${sb.provider.issuer}/device?code=`),
        'Glewlwyd names the code `code`',
      );
      await sb.provider.approveDevice(link, { login: 'carol' });
      const done = await login.exit;
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.stdout, 'logged in to profile local as carol@example.com\n');

      const token = await sb.token();
      assert.equal(token.code, 0, token.stderr);
      assert.equal(
        (await verifyLikeKms(token.stdout.trim(), sb.provider)).email,
        'carol@example.com',
      );
      assert.ok(sb.provider.stats.grants['urn:ietf:params:oauth:grant-type:device_code'] >= 1);
    } finally {
      await sb.close();
    }
  });
});

test("glewlwyd: a login whose code the provider refuses exits 3; agent.log has every login's outcome and no secret", async () => {
  const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
  try {
    sb.provider.setFault(({ grantType }) =>
      grantType === 'authorization_code'
        ? { status: 400, body: { error: 'invalid_grant', error_description: 'code expired' } }
        : undefined,
    );
    const refused = await sb.cli(['login']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /invalid_grant: code expired/);
    sb.provider.setFault(null);
    await sb.login();
    const logins = logRecords(sb).filter((r) => /^login /.test(r.msg));
    assert.deepEqual(
      logins.map((r) => r.msg),
      ['login started', 'login failed', 'login started', 'login completed'],
    );
    assert.match(logins[1].err, /invalid_grant: code expired/);
    assert.equal(logins[3].has_refresh_token, true);
  } finally {
    await sb.close();
  }
});

test('glewlwyd: stop, then token starts the agent and serves from the store', async (t) => {
  for (const store of hasSecretService ? ['keychain', 'file'] : ['file']) {
    await t.test(`store = "${store}"`, async () => {
      const sb = await makeGlewlwydSandbox({ profile: { store } });
      try {
        await sb.login();
        const before = await sb.token(['--access']);
        assert.equal(before.code, 0, before.stderr);
        const idBefore = await sb.token();
        assert.equal(idBefore.code, 0, idBefore.stderr);
        assert.equal((await sb.cli(['stop'])).code, 0);
        const logins = sb.provider.stats.grants.authorization_code;

        const after = await sb.token(['--access', '--json']);
        assert.equal(after.code, 0, after.stderr);
        const reply = JSON.parse(after.stdout);
        assert.notEqual(
          reply.token,
          before.stdout.trim(),
          'a fresh access token, from the stored refresh token',
        );
        assert.ok(reply.expires_at > Date.now() / 1000);
        const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];
        assert.equal(status.store, store);
        assert.equal(status.has_refresh_token, true);
        assert.equal(status.email, 'alice@example.com');

        // Glewlwyd renews no id_token on refresh: the login's, kept in the store, is served after
        // the restart while it is valid, with no new login and no refresh per call.
        const refreshes = sb.provider.stats.grants.refresh_token;
        for (let i = 0; i < 5; i++) {
          const id = await sb.token();
          assert.equal(id.code, 0, id.stderr);
          assert.equal(id.stdout, idBefore.stdout, "the login's id_token, from the store");
        }
        assert.equal(sb.provider.stats.grants.authorization_code, logins, 'no new login');
        assert.ok(
          sb.provider.stats.grants.refresh_token - refreshes <= 1,
          `${sb.provider.stats.grants.refresh_token - refreshes} refreshes for 5 calls`,
        );
      } finally {
        await sb.close();
      }
    });
  }
});
