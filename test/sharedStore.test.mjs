// One truth per store (issue 19): agents that share a store (two state directories, one store_dir
// or one keychain) read it before every refresh and compare before every write or delete, so
// neither sends a refresh token the other has rotated away (oidc-provider then ends the whole
// login) nor deletes the login the other just stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrantKeeper } from '../dist/daemon/grantKeeper.js';
import { ProfileSession } from '../dist/daemon/profileSession.js';
import { FileStore } from '../dist/daemon/stores/fileStore.js';
import { KeychainStore } from '../dist/daemon/stores/keychainStore.js';
import { MemoryStore } from '../dist/daemon/stores/memoryStore.js';
import { noKeychain, profileToml, storeKeyOf } from './support/harness.mjs';
import { loginViaRpc, makeIsolatedSandbox, withSandbox } from './support/reliability.mjs';
import { fakeJwt, silentLog, unitProfile } from './support/unitProfile.mjs';

const REFRESHES = 200;
const TOKEN_TTL = 60;
const now = () => Math.floor(Date.now() / 1000);

/**
 * Agent A (the sandbox's own state directory) and agent B (another one, another socket) on one
 * store; `token --min-valid` equal to the tokens' lifetime makes every call a refresh.
 */
async function alternatingRefreshes(t, store) {
  const shared = mkdtempSync(join(tmpdir(), 'kms-agent-shared-store-'));
  const sb = await makeIsolatedSandbox({
    provider: { accessTokenTtl: TOKEN_TTL, idTokenTtl: TOKEN_TTL, rotateRefreshToken: true },
    profiles: (issuer, redirectUrl) => {
      const profile = profileToml('local', issuer, { redirect_url: redirectUrl, store });
      return `store_dir = "${shared}"\n\n${profile}`;
    },
  });
  const agentB = {
    XDG_STATE_HOME: join(sb.dir, 'state-b'),
    XDG_RUNTIME_DIR: join(sb.dir, 'run-b'),
  };
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      const b = await sb.cli(['start'], { env: agentB });
      assert.equal(b.code, 0, `a second agent for another state directory starts: ${b.stderr}`);
      assert.match(b.stdout, new RegExp(`KMS_AGENT_SOCK=${join(sb.dir, 'run-b')}`));
      await loginViaRpc(sb);
      const failures = [];
      for (let i = 0; i < REFRESHES; i++) {
        const agent = i % 2 === 0 ? 'A' : 'B';
        const env = agent === 'A' ? {} : agentB;
        const r = await sb.token(['--min-valid', String(TOKEN_TTL)], { env });
        // The one line expected: the tokens live exactly --min-valid, so less is left once printed.
        const lines = r.stderr.split('\n').filter(Boolean);
        const said = lines.filter((line) => !line.includes('s --min-valid asked for'));
        if (r.code !== 0 || said.length > 0) {
          failures.push(`refresh ${i} (agent ${agent}): exit ${r.code}: ${r.stderr.trim()}`);
        }
      }
      const refreshes = sb.provider.stats.grants.refresh_token ?? 0;
      const failed = failures.length;
      t.diagnostic(`${store}: ${REFRESHES} calls, ${refreshes} refreshes, ${failed} failed`);
      assert.deepEqual(failures.slice(0, 3), [], 'every call served, no error (no invalid_grant)');
      assert.ok(refreshes >= REFRESHES, `each call refreshed (${refreshes})`);
      for (const env of [{}, agentB]) {
        const status = JSON.parse((await sb.cli(['status', '--json'], { env })).stdout);
        assert.equal(
          status.profiles[0].has_refresh_token,
          true,
          'both agents still hold the login',
        );
      }
      assert.equal(sb.provider.stats.grants.authorization_code, 1, 'one login, never lost');
    },
    async () => {
      await sb.cli(['--no-autostart', 'stop'], { env: agentB });
      if (store === 'keychain') await new KeychainStore().remove(storeKeyOf(sb));
      rmSync(shared, { recursive: true, force: true });
    },
  );
}

test(
  `two agents of two state directories on one store: ${REFRESHES} alternating refreshes, ` +
    'no login lost',
  { timeout: 240_000 },
  async (t) => {
    await t.test('file store (one store_dir)', (st) => alternatingRefreshes(st, 'file'));
    await t.test('keychain', { skip: noKeychain }, (st) => alternatingRefreshes(st, 'keychain'));
  },
);

/** Each store, as another agent writes it behind this one's back. */
const stores = [
  ['memory', () => new MemoryStore()],
  ['file', (dir) => new FileStore(dir)],
  ['keychain', () => new KeychainStore(), noKeychain],
];
const grant = (token) => ({ refresh_token: token, subject: 'alice', saved_at: now() });

test('GrantKeeper compares before it writes or deletes, for every store', async (t) => {
  for (const [kind, open, skip] of stores) {
    await t.test(kind, { skip }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kms-agent-grants-'));
      const key = `compare-test-${kind}-${process.pid}`;
      const store = open(dir);
      const keeper = new GrantKeeper('unit', store, key, silentLog);
      try {
        await store.save(key, grant('rt-1'));
        assert.equal((await keeper.reread()).refresh_token, 'rt-1');
        await store.save(key, grant('rt-2-other-agent'));
        const kept = await keeper.save(grant('rt-1-rotated-here'));
        assert.equal(kept.refresh_token, 'rt-2-other-agent', 'the changed login is adopted');
        const stored = await store.load(key);
        assert.equal(stored.refresh_token, 'rt-2-other-agent', 'and not overwritten');

        await store.save(key, grant('rt-3-other-agent'));
        assert.equal(await keeper.forget(), false, 'a login changed since read is not deleted');
        assert.equal((await store.load(key)).refresh_token, 'rt-3-other-agent');
        assert.equal(keeper.current.refresh_token, 'rt-3-other-agent');

        const written = await keeper.save(grant('rt-4'));
        assert.equal(written.refresh_token, 'rt-4', 'unchanged since read: written');
        assert.equal((await store.load(key)).refresh_token, 'rt-4');
        assert.equal(await keeper.forget(), true);
        assert.equal(await store.load(key), null, 'unchanged since written: deleted');
      } finally {
        await store.remove(key);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

test('a refresh refused with a 4xx reads the store again, uses a newer refresh token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-grants-'));
  const store = new FileStore(dir);
  const profile = unitProfile();
  await store.save(profile.storeKey, grant('rt-old'));
  const sent = [];
  const provider = {
    refresh: async (refreshToken) => {
      sent.push(refreshToken);
      if (refreshToken === 'rt-old') {
        // Another agent rotated it while this request was on its way.
        await store.save(profile.storeKey, grant('rt-newer'));
        const cause = new Response('', { status: 400 });
        throw Object.assign(new Error('unexpected HTTP response status code'), { cause });
      }
      const [iat, exp] = [now(), now() + 3600];
      const claims = { iss: 'https://idp.example', sub: 'alice', aud: 'unit-client', exp, iat };
      const response = {
        access_token: 'access-1',
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: 'rt-rotated',
      };
      return { response, idToken: fakeJwt(claims) };
    },
  };
  const session = new ProfileSession(profile, store, silentLog, undefined, provider);
  try {
    const reply = await session.getToken({ kind: 'access' });
    assert.equal(reply.token, 'access-1', 'served, not "login ended"');
    assert.deepEqual(sent, ['rt-old', 'rt-newer']);
    const stored = await store.load(profile.storeKey);
    assert.equal(stored.refresh_token, 'rt-rotated', 'the login lives on in the store');
  } finally {
    session.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
