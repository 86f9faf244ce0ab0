// The whole token path as a user drives it (issue: "Start here"), against the real local provider,
// the real Secret Service of the D-Bus session, the real socket and the built CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { loadConfig } from '../dist/config/config.js';
import { makeSandbox } from './support/harness.mjs';

const hasSecretService = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);

function keychainGrant(key) {
  try {
    return JSON.parse(
      execFileSync('secret-tool', ['lookup', 'service', 'kms-agent', 'username', key], {
        encoding: 'utf8',
      }),
    );
  } catch {
    return null;
  }
}

test(
  'login, token, cache, single refresh, restart from the keychain, logout',
  { skip: !hasSecretService && 'needs a D-Bus session with gnome-keyring (see .ci/run)' },
  async () => {
    const sb = await makeSandbox();
    const stats = sb.provider.stats;
    const grants = (type) => sb.provider.stats.grants[type] ?? 0;
    try {
      // Before any login: exit 5 and the command to run, nothing on stdout.
      let r = await sb.token();
      assert.equal(r.code, 5);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /not logged in to profile local: run `kms-agent login --profile local`/,
      );

      // login: $BROWSER plays the provider's pages and delivers the callback to the daemon's listener.
      r = await sb.login();
      assert.match(r.stdout, /^logged in to profile local as alice@example\.com$/m);
      // The browser opened, so the URL (its state and code_challenge) is not printed: the browser got a private page.
      assert.doesNotMatch(r.stderr, /\/auth\?/);
      assert.match(r.stderr, /in the browser window that just opened/);
      assert.equal(grants('authorization_code'), 1);

      // token: one line, a JWT that verifies against the provider's JWKS with what the KMS checks.
      r = await sb.token();
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const jwt = r.stdout.trim();
      const header = decodeProtectedHeader(jwt);
      assert.equal(header.alg, 'RS256');
      assert.ok(header.kid, 'the JWT names its key');
      const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(sb.provider.jwksUri)), {
        issuer: sb.provider.issuer,
      });
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.email, 'alice@example.com');
      assert.ok(payload.exp > Date.now() / 1000);

      // 20 more calls: served from the cache, no provider request at all.
      const requestsBefore = stats.requests;
      for (let i = 0; i < 20; i++) {
        const again = await sb.token();
        assert.equal(again.stdout.trim(), jwt);
      }
      assert.equal(
        sb.provider.stats.requests,
        requestsBefore,
        'no provider request for cached tokens',
      );

      // The refresh token is in the real keychain (secret-tool reads the Secret Service directly).
      // The key names the profile, its client and (hashed) every endpoint that receives the refresh token.
      const key = loadConfig({ configPath: sb.configPath, env: sb.env }).profiles.get(
        'local',
      ).storeKey;
      assert.ok(key.startsWith(`local/kms-agent-test@${sb.provider.issuer}#`), key);
      const stored = keychainGrant(key);
      assert.ok(stored?.refresh_token, 'refresh token stored in the OS keychain');
      sb.rememberSecret(stored.refresh_token);
      const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
      assert.equal(status.profiles[0].store, 'keychain');
      assert.equal(status.profiles[0].has_refresh_token, true);
      assert.equal(status.profiles[0].store_warning, undefined);

      // A restarted agent has the login but no token: 200 concurrent token.get calls over 20
      // connections make exactly one refresh request, and every caller gets its result.
      assert.equal((await sb.cli(['stop'])).code, 0);
      assert.equal((await sb.cli(['start'])).code, 0);
      const refreshesBefore = grants('refresh_token');
      const clients = await Promise.all(
        Array.from({ length: 20 }, () => AgentClient.connect(sb.socketPath)),
      );
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, i) => clients[i % 20].call('token.get', {})),
      );
      clients.forEach((c) => c.close());
      assert.equal(
        grants('refresh_token') - refreshesBefore,
        1,
        'exactly one refresh for 200 concurrent requests',
      );
      const fresh = new Set(replies.map((reply) => reply.token));
      assert.equal(fresh.size, 1, 'all 200 got the same refreshed token');
      assert.notEqual([...fresh][0], jwt);
      fresh.forEach(sb.rememberSecret);
      const rotated = keychainGrant(key);
      assert.notEqual(
        rotated.refresh_token,
        stored.refresh_token,
        'the rotated refresh token reached the keychain',
      );
      sb.rememberSecret(rotated.refresh_token);

      // stop: the socket goes away; token then autostarts an agent that refreshes from the keychain.
      r = await sb.cli(['stop']);
      assert.equal(r.code, 0);
      assert.equal(existsSync(sb.socketPath), false, 'socket file removed on stop');
      r = await sb.token();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      assert.equal(grants('authorization_code'), 1, 'no new login after the restart');

      // logout: revoked at the provider, gone from the keychain, and token says what to do.
      const revocationsBefore = stats.revocations;
      r = await sb.cli(['logout']);
      assert.equal(r.code, 0);
      assert.match(r.stderr, /revoked/);
      assert.equal(sb.provider.stats.revocations - revocationsBefore, 1);
      assert.equal(keychainGrant(key), null, 'refresh token deleted from the keychain');
      r = await sb.token();
      assert.equal(r.code, 5);
      assert.match(r.stderr, /kms-agent login --profile local/);

      const { leaked, checked } = sb.leakedSecrets();
      assert.ok(checked >= 5, `secrets collected for the log check: ${checked}`);
      assert.equal(leaked, 0, 'no token, code or refresh token in any log or stderr');
      console.log(`# provider calls in this test: ${JSON.stringify(sb.provider.stats)}`);
    } finally {
      await sb.close();
    }
  },
);
