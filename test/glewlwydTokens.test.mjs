// Tokens, refresh and logout against Glewlwyd (test/support/glewlwyd.mjs) through the built CLI:
// no id_token on refresh, `scope` ignored on refresh, revocation only for an authenticated
// client, a bare 400 for a dead refresh token. Logins go through the device flow here, so each
// test reaches the behaviour it is about whatever the browser flow does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loginDevice } from './support/deviceLogin.mjs';
import { jwtPayload, makeGlewlwydSandbox, storeFileOf } from './support/harness.mjs';

const TTL = 8;

/** `kms-agent login --device [--profile NAME]`, approved as alice on Glewlwyd's verification page. */
async function deviceLogin(sb, profile) {
  const login = loginDevice(sb, profile ? ['--profile', profile] : []);
  await sb.provider.approveDevice(await login.link);
  const done = await login.exit;
  assert.equal(done.code, 0, done.stderr);
  return done;
}

/** The refresh token a profile's file store holds. */
function storedRefreshToken(sb, profile = 'local') {
  const token = JSON.parse(readFileSync(storeFileOf(sb, profile), 'utf8')).refresh_token;
  sb.rememberSecret(token);
  return token;
}

/** A refresh by hand, as another client holding the same refresh token would do it. */
async function refreshByHand(sb, refreshToken, auth) {
  const headers = auth
    ? {
        authorization: `Basic ${Buffer.from(`${auth.clientId}:${auth.secret}`).toString('base64')}`,
      }
    : {};
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...(auth ? {} : { client_id: sb.provider.clientId }),
  });
  const response = await fetch(`${sb.provider.issuer}/token`, { method: 'POST', headers, body });
  const text = await response.text();
  if (response.status === 200) sb.rememberSecret(JSON.parse(text).refresh_token);
  return { status: response.status, text };
}

test('glewlwyd: tokens and refresh', async (t) => {
  await t.test(
    'no id_token on refresh: the id_token is served until it expires, then exit 5 naming token = "access"',
    async () => {
      const sb = await makeGlewlwydSandbox({
        provider: { accessTokenTtl: TTL },
        config: (issuer) =>
          `default_profile = "local"\n\n[profiles.local]\nclient_id = "kms-agent-test"\nissuer = "${issuer}"\nstore = "file"\n\n` +
          `[profiles.access]\nclient_id = "kms-agent-test"\nissuer = "${issuer}"\nstore = "file"\ntoken = "access"\n`,
      });
      try {
        await deviceLogin(sb, 'local');
        await deviceLogin(sb, 'access');
        const first = await sb.token(['--profile', 'access']);
        assert.equal(first.code, 0, first.stderr);
        const firstId = await sb.token();
        assert.equal(firstId.code, 0, firstId.stderr);
        const idToken = firstId.stdout.trim();
        const { exp } = jwtPayload(idToken);
        assert.equal(
          exp - jwtPayload(idToken).iat,
          TTL,
          'the id_token lives as long as the access token',
        );
        const refreshesBefore = sb.provider.stats.grants.refresh_token ?? 0;

        // Calls until a second past its expiry: the id_token while it is valid (a refresh meanwhile renews
        // only the access token), then a plain "login required".
        const calls = { valid: 0, expired: 0 };
        while (Date.now() / 1000 < exp + 1.5) {
          const startedAt = Date.now() / 1000;
          const r = await sb.token();
          const endedAt = Date.now() / 1000;
          if (endedAt < exp - 0.2) {
            assert.equal(r.code, 0, `${(exp - endedAt).toFixed(1)} s before expiry: ${r.stderr}`);
            assert.equal(
              r.stdout.trim(),
              idToken,
              'the id_token, never the access token in its place',
            );
            calls.valid += 1;
          } else if (startedAt > exp + 0.2) {
            assert.equal(r.code, 5, r.stderr);
            assert.equal(r.stdout, '');
            assert.match(r.stderr, /no valid id_token for profile local/);
            assert.match(r.stderr, /token = "access"/);
            assert.match(r.stderr, /`kms-agent login --profile local`/);
            calls.expired += 1;
          }
          await sleep(100);
        }
        assert.ok(calls.valid >= 10 && calls.expired >= 3, JSON.stringify(calls));
        // One refresh per half lifetime at most, never one per call.
        const refreshes = sb.provider.stats.grants.refresh_token - refreshesBefore;
        assert.ok(
          refreshes >= 1 && refreshes <= 3,
          `${refreshes} refreshes for ${calls.valid + calls.expired} calls`,
        );
        const withId = await sb.token(['--id']);
        assert.equal(withId.code, 5, withId.stderr);

        // The profile with token = "access" works across the expiry, with a fresh access token.
        const later = await sb.token(['--profile', 'access', '--json']);
        assert.equal(later.code, 0, later.stderr);
        const reply = JSON.parse(later.stdout);
        assert.notEqual(reply.token, first.stdout.trim());
        assert.ok(reply.expires_at > Date.now() / 1000);
      } finally {
        await sb.close();
      }
    },
  );
  await t.test(
    "--min-valid beyond the provider's token lifetime: the freshest token, a word on stderr, a refresh only once it is half used",
    async () => {
      const sb = await makeGlewlwydSandbox({
        provider: { accessTokenTtl: TTL },
        profile: { store: 'file', token: 'access' },
      });
      try {
        await deviceLogin(sb);
        const served = [];
        const startedAt = Date.now();
        while (Date.now() - startedAt < TTL * 1000 * 0.9) {
          const r = await sb.token(['--min-valid', '3600', '--json']);
          assert.equal(r.code, 0, r.stderr);
          const reply = JSON.parse(r.stdout);
          assert.ok(reply.expires_at > Date.now() / 1000, 'never an expired token');
          assert.match(
            r.stderr,
            /^kms-agent: this token is valid for \d+ s, less than the 3600 s --min-valid asked for/,
          );
          served.push(reply.token);
          await sleep(100);
        }
        const distinct = new Set(served).size;
        const refreshes = sb.provider.stats.grants.refresh_token ?? 0;
        assert.ok(
          served.length >= 20 && distinct <= 3 && refreshes <= 2,
          `${served.length} calls, ${distinct} tokens, ${refreshes} refreshes`,
        );
      } finally {
        await sb.close();
      }
    },
  );

  await t.test(
    'token --scope openid: the provider ignores the narrower scope: said on stderr, and --json carries the granted one',
    async () => {
      const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
      try {
        await deviceLogin(sb);
        const narrow = await sb.token(['--scope', 'openid', '--json']);
        assert.equal(narrow.code, 0, narrow.stderr);
        const reply = JSON.parse(narrow.stdout);
        assert.deepEqual(reply.scope.split(' ').sort(), ['email', 'offline_access', 'openid']);
        assert.match(
          narrow.stderr,
          /^kms-agent: the provider granted the scope "[^"]+", not the "openid" asked for\n$/,
          'said on stderr',
        );
        assert.equal(sb.provider.stats.grants.refresh_token, 1);
        // The main token is still the login's id_token.
        const main = await sb.token();
        assert.equal(main.code, 0, main.stderr);
        assert.equal(jwtPayload(main.stdout.trim()).email, 'alice@example.com');
      } finally {
        await sb.close();
      }
    },
  );
  await t.test(
    'a refresh token the provider no longer accepts (bare 400, empty body): exit 5 naming the login command',
    async () => {
      const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
      try {
        await deviceLogin(sb);
        // Another holder of the refresh token uses it: Glewlwyd rotates it, so the agent's copy is dead.
        assert.equal((await refreshByHand(sb, storedRefreshToken(sb))).status, 200);
        assert.equal((await sb.cli(['stop'])).code, 0);

        const r = await sb.token();
        assert.equal(r.code, 5, r.stderr);
        assert.equal(r.stdout, '');
        assert.match(
          r.stderr,
          /the login of profile local ended: the provider no longer accepts its refresh token \(HTTP 400 from the provider with an empty body\)/,
        );
        assert.match(r.stderr, /run `kms-agent login --profile local`/);
        const refreshes = sb.provider.stats.grants.refresh_token;
        const again = await sb.token();
        assert.equal(again.code, 5, again.stderr);
        assert.equal(
          sb.provider.stats.grants.refresh_token,
          refreshes,
          'the dead login is not tried again',
        );
        const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];
        assert.equal(status.has_refresh_token, false);
      } finally {
        await sb.close();
      }
    },
  );
});

test('glewlwyd: logout', async (t) => {
  await t.test(
    'logout with a public client: the provider refuses the revocation; the login is forgotten here, and the user is told',
    async () => {
      const sb = await makeGlewlwydSandbox({ profile: { store: 'file' } });
      try {
        await deviceLogin(sb);
        const refreshToken = storedRefreshToken(sb);
        const { outcomes } = await sb.rpc('logout');
        assert.equal(outcomes.length, 1);
        assert.equal(outcomes[0].profile, 'local');
        assert.equal(outcomes[0].revocation, 'refused');
        assert.match(outcomes[0].detail, /401/, "the provider's answer");
        assert.equal(sb.provider.stats.revocations, 1);
        const after = await sb.token();
        assert.equal(after.code, 5, after.stderr);
        assert.match(after.stderr, /not logged in to profile local/);
        // Why the user must hear it: the refresh token still works at the provider.
        assert.equal((await refreshByHand(sb, refreshToken)).status, 200);

        await deviceLogin(sb);
        const logout = await sb.cli(['logout']);
        assert.equal(logout.code, 0, logout.stderr);
        assert.equal(sb.provider.stats.revocations, 2);
        assert.equal((await sb.token()).code, 5);
      } finally {
        await sb.close();
      }
    },
  );
  await t.test(
    'logout with a confidential client revokes the refresh token at the provider',
    async () => {
      const sb = await makeGlewlwydSandbox({
        config: (issuer) =>
          `[profiles.local]\nclient_id = "kmsAgentConfidential"\nclient_secret = "testSecretKmsAgentConfidential0123"\nissuer = "${issuer}"\nstore = "file"\n`,
      });
      try {
        await deviceLogin(sb);
        const refreshToken = storedRefreshToken(sb);
        const { outcomes } = await sb.rpc('logout');
        assert.deepEqual(outcomes, [{ profile: 'local', revocation: 'revoked' }]);
        const auth = {
          clientId: sb.provider.confidentialClientId,
          secret: sb.provider.clientSecret,
        };
        assert.deepEqual(
          await refreshByHand(sb, refreshToken, auth),
          { status: 400, text: '' },
          'dead at the provider',
        );
      } finally {
        await sb.close();
      }
    },
  );
});
