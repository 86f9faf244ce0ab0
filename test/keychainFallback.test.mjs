// No usable OS keychain (a server, an SSH session, a container): the login still works, the
// refresh token goes to the 0600 file store with a warning that says so, and survives a restart.
// And a profile with store = "memory" forgets its login when the agent stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, profileToml } from './support/harness.mjs';

const hasSecretService = Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);

/** What the test's own Secret Service holds for a key (null when none, or when there is no session). */
function keychainEntry(key) {
  if (!hasSecretService) return null;
  try {
    return (
      execFileSync('secret-tool', ['lookup', 'service', 'kms-agent', 'username', key], {
        encoding: 'utf8',
      }) || null
    );
  } catch {
    return null;
  }
}

/** The environment a running process was started with. */
function environOf(pid) {
  const env = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)) {
    const eq = entry.indexOf('=');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const mode = (path) => statSync(path).mode & 0o777;

// @napi-rs/keyring fails the same way with the variable absent or empty (seen: "Using X11 for
// dbus-daemon autolaunch was disabled ... set your DBUS_SESSION_BUS_ADDRESS"); both are covered.
for (const [what, dbus] of [
  ['DBUS_SESSION_BUS_ADDRESS unset', undefined],
  ['DBUS_SESSION_BUS_ADDRESS empty', ''],
]) {
  test(
    `no keychain (${what}): login works, file store 0600 with a warning, kept across a restart`,
    { timeout: 60_000 },
    async () => {
      // No D-Bus and no X display (which libdbus could otherwise use to autolaunch a bus). libdbus
      // would also try $XDG_RUNTIME_DIR/bus: the sandbox's runtime dir is fresh and has none.
      // Two profiles on the keychain: status says the keychain is missing once, not once per profile.
      const sb = await makeSandbox({
        config: (issuer) =>
          `default_profile = "local"\n${profileToml('local', issuer)}${profileToml('other', issuer)}`,
        env: { DBUS_SESSION_BUS_ADDRESS: dbus, DISPLAY: undefined, WAYLAND_DISPLAY: undefined },
      });
      const stateDir = join(sb.dir, 'state', 'kms-agent');
      const grants = (type) => sb.provider.stats.grants[type] ?? 0;
      try {
        assert.equal(sb.env.DBUS_SESSION_BUS_ADDRESS || undefined, undefined);
        assert.equal(sb.env.DISPLAY, undefined);

        let r = await sb.login();
        assert.match(r.stdout, /^logged in to profile local as alice@example\.com$/m);
        // The warning: the keychain is unavailable, why, and where the refresh token is kept instead.
        const warning = r.stderr.split('\n').find((line) => line.startsWith('warning: '));
        assert.ok(warning, `a warning on stderr: ${r.stderr}`);
        // In words, once: not libdbus's "Using X11 for dbus-daemon autolaunch was disabled…".
        assert.equal(
          warning,
          `warning: no keychain on this machine (no D-Bus session): your login is in a 0600 file in ${stateDir}`,
        );
        assert.doesNotMatch(r.stderr, /X11|autolaunch|DBUS_SESSION_BUS_ADDRESS/);

        // The agent really runs without a session bus (the premise of this test).
        const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
        const agentEnv = environOf(status.pid);
        assert.equal(
          agentEnv.DBUS_SESSION_BUS_ADDRESS || undefined,
          undefined,
          'the agent has no D-Bus address',
        );
        assert.equal(agentEnv.DISPLAY, undefined, 'the agent has no X display');

        // status --json says where the login lives and why.
        const profile = status.profiles[0];
        assert.equal(profile.name, 'local');
        assert.equal(profile.logged_in, true);
        assert.equal(profile.has_refresh_token, true);
        assert.equal(profile.store, 'file');
        assert.equal(profile.store_warning, warning.slice('warning: '.length));
        // The human status says so too, once for all the profiles that share the store.
        const text = (await sb.cli(['status'])).stdout;
        assert.equal(
          text.split('\n').filter((line) => line.includes('no keychain on this machine')).length,
          1,
          text,
        );
        assert.match(
          text,
          /^warning: no keychain on this machine \(no D-Bus session\): your login is in a 0600 file in /m,
        );
        assert.match(text, /store: file\n/);

        // The file store: a 0700 directory of 0600 files, one grant holding the refresh token.
        assert.equal(mode(stateDir), 0o700, 'state directory 0700');
        const files = readdirSync(stateDir);
        for (const file of files)
          assert.equal(mode(join(stateDir, file)), 0o600, `${file} is 0600`);
        const grantFiles = files.filter((f) => f.endsWith('.json'));
        assert.equal(grantFiles.length, 1, `one grant file: ${files.join(', ')}`);
        const grant = JSON.parse(readFileSync(join(stateDir, grantFiles[0]), 'utf8'));
        assert.ok(grant.refresh_token, 'the refresh token is in the file');
        sb.rememberSecret(grant.refresh_token);
        assert.equal(grant.subject, 'alice');
        // Nothing went to a keychain the test's own session could see.
        assert.equal(
          keychainEntry(`local/kms-agent-test@${sb.provider.issuer}`),
          null,
          'nothing in the keychain',
        );

        r = await sb.token();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);

        // stop; a new agent, still without D-Bus, serves a token from the file: no new login.
        r = await sb.cli(['stop']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(existsSync(sb.socketPath), false);
        const codesBefore = grants('authorization_code');
        const refreshesBefore = grants('refresh_token');
        r = await sb.token();
        assert.equal(r.code, 0, `token after the restart: ${r.stderr}`);
        assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
        assert.equal(grants('authorization_code'), codesBefore, 'no new login');
        assert.equal(
          grants('refresh_token'),
          refreshesBefore + 1,
          'the new agent refreshed with the stored token',
        );
        const after = JSON.parse((await sb.cli(['status', '--json'])).stdout);
        assert.notEqual(after.pid, status.pid, 'a new agent');
        assert.equal(environOf(after.pid).DBUS_SESSION_BUS_ADDRESS || undefined, undefined);
        assert.equal(after.profiles[0].store, 'file');
        assert.match(
          after.profiles[0].store_warning ?? '',
          /^no keychain on this machine \(no D-Bus session\)/,
        );
        // The rotated refresh token replaced the old one in the file, still 0600.
        const rotated = JSON.parse(readFileSync(join(stateDir, grantFiles[0]), 'utf8'));
        assert.notEqual(rotated.refresh_token, grant.refresh_token);
        sb.rememberSecret(rotated.refresh_token);
        assert.equal(mode(join(stateDir, grantFiles[0])), 0o600);
        assert.deepEqual(
          readdirSync(stateDir).filter((f) => f.endsWith('.tmp')),
          [],
          'no temp files left',
        );

        // logout removes the file's grant.
        r = await sb.cli(['logout']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          readdirSync(stateDir).filter((f) => f.endsWith('.json')),
          [],
        );
        assert.equal((await sb.token()).code, 5);
      } finally {
        await sb.close();
      }
    },
  );
}

test(
  'store = "memory": the login is lost when the agent stops (token exits 5)',
  { timeout: 60_000 },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    const stateDir = join(sb.dir, 'state', 'kms-agent');
    try {
      let r = await sb.login();
      assert.doesNotMatch(r.stderr, /warning/, 'no store warning for an explicit memory store');
      r = await sb.token();
      assert.equal(r.code, 0, r.stderr);
      const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
      assert.equal(status.profiles[0].store, 'memory');
      assert.equal(status.profiles[0].has_refresh_token, true);
      assert.equal(status.profiles[0].store_warning, undefined);
      // Written nowhere: no grant file, no keychain entry.
      const files = existsSync(stateDir) ? readdirSync(stateDir) : [];
      assert.deepEqual(
        files.filter((f) => f.endsWith('.json')),
        [],
        'no grant file',
      );
      assert.equal(
        keychainEntry(`local/kms-agent-test@${sb.provider.issuer}`),
        null,
        'no keychain entry',
      );

      r = await sb.cli(['stop']);
      assert.equal(r.code, 0, r.stderr);
      r = await sb.token();
      assert.equal(r.code, 5, `login required after a restart: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /not logged in to profile local: run `kms-agent login --profile local`/,
      );
      assert.equal(sb.provider.stats.grants.authorization_code, 1);
    } finally {
      await sb.close();
    }
  },
);
