// The local oidc-provider run the ways real providers behave (src/demo/localProvider.ts options):
// refresh tokens only for offline_access with prompt=consent, an RFC 9207 `iss` whose issuer is not
// the token URL's origin, extra authorization parameters; and every login's outcome in agent.log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { jwtPayload, logRecords, makeSandbox } from './support/harness.mjs';

/** A profile for the local provider; `extra` is TOML added to it. */
function profileText(issuer, extra = '') {
  return `[profiles.local]\nclient_id = "${LOCAL_PUBLIC_CLIENT_ID}"\nissuer = "${issuer}"\nstore = "file"\n${extra}`;
}

/** The authorization requests the provider received, as parameter objects. */
function recordAuthorizationRequests(provider) {
  const seen = [];
  provider.setFault((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/auth')
      seen.push(Object.fromEntries(new URLSearchParams(ctx.querystring)));
    return undefined;
  });
  return seen;
}

const status = async (sb) => JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];

test('oidc-provider: what goes out on the authorization request, what comes back', async (t) => {
  await t.test('extra_auth_params reach the authorization request', async () => {
    const sb = await makeSandbox({
      config: (issuer) =>
        profileText(
          issuer,
          'extra_auth_params = { login_hint = "bob@example.com", prompt = "login consent" }\n',
        ),
    });
    try {
      const requests = recordAuthorizationRequests(sb.provider);
      await sb.login();
      assert.equal(requests.length, 1);
      assert.equal(requests[0].login_hint, 'bob@example.com');
      assert.equal(requests[0].prompt, 'login consent');
      assert.ok(requests[0].nonce, 'and the nonce');
      assert.equal((await status(sb)).has_refresh_token, true);
    } finally {
      await sb.close();
    }
  });
  await t.test(
    'RFC 9207 iss from an issuer that is not the token URL origin, with explicit endpoints and no issuer configured',
    async () => {
      const sb = await makeSandbox({
        provider: { issuerPath: '/tenant-1/v2.0' },
        config: (issuer) => {
          const origin = new URL(issuer).origin;
          return `[profiles.local]\nclient_id = "${LOCAL_PUBLIC_CLIENT_ID}"\nauthorize_url = "${origin}/auth"\ntoken_url = "${origin}/token"\nstore = "file"\n`;
        },
      });
      try {
        const first = await sb.cli(['login']);
        assert.equal(first.code, 0, first.stderr);
        const token = await sb.token();
        assert.equal(token.code, 0, token.stderr);
        assert.equal(jwtPayload(token.stdout.trim()).iss, sb.provider.issuer);
        // The second login's iss is held to the issuer the first one's id_token named.
        const second = await sb.cli(['login']);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(sb.provider.stats.grants.authorization_code, 2);
      } finally {
        await sb.close();
      }
    },
  );
});

test('oidc-provider as shipped: a refresh token only with prompt=consent; the agent sends it with offline_access', async (t) => {
  await t.test('default: prompt=consent goes out, a refresh token comes back', async () => {
    const sb = await makeSandbox({
      provider: { standardRefreshTokens: true },
      config: (issuer) => profileText(issuer),
    });
    try {
      const requests = recordAuthorizationRequests(sb.provider);
      const r = await sb.login();
      assert.equal(r.stderr.includes('warning'), false, r.stderr);
      assert.equal(requests[0].prompt, 'consent');
      assert.equal((await status(sb)).has_refresh_token, true);
      // A restarted agent has only the stored refresh token: the refresh works.
      assert.equal((await sb.cli(['stop'])).code, 0);
      assert.equal((await sb.token()).code, 0);
      assert.equal(sb.provider.stats.grants.refresh_token, 1);
    } finally {
      await sb.close();
    }
  });

  await t.test(
    'extra_auth_params overriding prompt: no refresh token, and the warning names the prompt, not the scopes',
    async () => {
      const sb = await makeSandbox({
        provider: { standardRefreshTokens: true },
        config: (issuer) => profileText(issuer, 'extra_auth_params = { prompt = "login" }\n'),
      });
      try {
        const requests = recordAuthorizationRequests(sb.provider);
        const r = await sb.login();
        assert.equal(requests[0].prompt, 'login', "the profile's prompt replaces consent");
        assert.equal((await status(sb)).has_refresh_token, false);
        assert.match(r.stderr, /^warning: the provider issued no refresh token/m);
        assert.match(r.stderr, /prompt = "login"/, r.stderr);
        assert.match(r.stderr, /consent/);
        assert.doesNotMatch(r.stderr, /add "offline_access"/);
      } finally {
        await sb.close();
      }
    },
  );
});

test('every login leaves its outcome and reason in agent.log, and no secret', async () => {
  const sb = await makeSandbox({ profile: { store: 'file' } });
  try {
    const denied = await sb.cli(['login'], { env: { FAKE_BROWSER_DENY: '1' } });
    assert.equal(denied.code, 3, denied.stderr);
    await sb.login();
    const logins = logRecords(sb).filter((r) => /^login /.test(r.msg));
    assert.deepEqual(
      logins.map((r) => r.msg),
      ['login started', 'login failed', 'login started', 'login completed'],
    );
    const [, failed, , completed] = logins;
    assert.equal(failed.profile, 'local');
    assert.equal(failed.reason, 'LOGIN_DENIED');
    assert.match(failed.err, /access_denied/);
    assert.equal(completed.profile, 'local');
    assert.equal(completed.subject, 'alice');
    assert.equal(completed.has_refresh_token, true);
    // close() checks that no token, code or refresh token of this test reached the log.
  } finally {
    await sb.close();
  }
});
