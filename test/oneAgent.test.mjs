// One agent per user store (issue 19): two shells of one user, one with XDG_RUNTIME_DIR and one
// without (an SSH login next to cron, say), look for the agent at two different default sockets.
// Each used to autostart an agent of its own on one shared store; with a provider that rotates
// refresh tokens, one agent's refresh killed the other's refresh token, and the loser then deleted
// the login from the store, the winner's valid refresh token with it. Now the second shell finds the
// first shell's agent through the lock in the state directory, and the login survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { KeychainStore } from '../dist/daemon/stores/keychainStore.js';
import { storeFileOf, storeKeyOf } from './support/harness.mjs';
import { daemonsUnder } from './support/processes.mjs';
import { loginViaRpc, makeIsolatedSandbox, withSandbox } from './support/reliability.mjs';

const SECONDS = 60;
/** Access and id tokens live 2 s: a token call refreshes at least once a second. */
const TOKEN_TTL = 2;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+\n$/;
const noKeychain = !process.env.DBUS_SESSION_BUS_ADDRESS && 'no D-Bus session (run inside dbus-run-session with gnome-keyring)';

/** The refresh token the store holds for the sandbox's profile, read as a second process would. */
async function storedRefreshToken(sb, store) {
  if (store === 'file') {
    const file = storeFileOf(sb);
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).refresh_token : undefined;
  }
  return (await new KeychainStore().load(storeKeyOf(sb)))?.refresh_token;
}


/**
 * Shell 1 (no XDG_RUNTIME_DIR) and shell 2 (with it) call `kms-agent token` in turn for SECONDS;
 * then: one agent, every call served, the login still in the store and good for a new agent.
 */
async function twoShells(t, store) {
  const sb = await makeIsolatedSandbox({
    provider: { accessTokenTtl: TOKEN_TTL, idTokenTtl: TOKEN_TTL, rotateRefreshToken: true },
    profile: { store },
  });
  const shells = [{ XDG_RUNTIME_DIR: undefined }, {}];
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb);
    const failures = [];
    let calls = 0;
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) {
      const r = await sb.token([], { env: shells[calls % 2] });
      if (r.code !== 0 || !JWT.test(r.stdout)) failures.push(`call ${calls} (shell ${(calls % 2) + 1}): exit ${r.code}: ${r.stderr.trim()}`);
      calls++;
    }
    const refreshes = sb.provider.stats.grants.refresh_token ?? 0;
    t.diagnostic(`${store}: ${calls} calls in ${SECONDS} s, ${refreshes} refreshes, ${failures.length} failed`);
    assert.deepEqual(failures.slice(0, 3), [], 'every call from either shell got a token');
    assert.ok(refreshes >= SECONDS / 2, `the calls kept causing refreshes (${refreshes})`);
    const agents = daemonsUnder(sb.dir);
    assert.equal(agents.length, 1, `exactly one agent runs: ${JSON.stringify(agents)}`);
    assert.ok(await storedRefreshToken(sb, store), 'the login is still in the store');

    // And it is a good one: a new agent, with nothing cached, serves from it without a login.
    assert.equal((await sb.cli(['stop'])).code, 0);
    const logins = sb.provider.stats.grants.authorization_code;
    const again = await sb.token();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sb.provider.stats.grants.authorization_code, logins, 'no new login');
  }, async () => {
    // Before the fix, shell 1 had an agent of its own, on the state directory's socket.
    await sb.cli(['--no-autostart', 'stop'], { env: shells[0] });
  });
}

test(`two shells, one with XDG_RUNTIME_DIR and one without, ${SECONDS} s of token calls under rotation: one agent, no lost login`, { timeout: 240_000, concurrency: 2 }, async (t) => {
  await Promise.all([
    t.test('file store', (st) => twoShells(st, 'file')),
    t.test('keychain store', { skip: noKeychain }, (st) => twoShells(st, 'keychain')),
  ]);
});
