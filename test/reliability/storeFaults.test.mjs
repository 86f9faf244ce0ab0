// Store faults (issue 4): no D-Bus, a locked keyring, a keyring that hangs (SIGSTOP). The agent
// does not hang (agent.status and other profiles answer within a bound), tells the user (login
// warning, status store_warning) and falls back to the file store as docs/configuration.md says,
// keeping the login across a restart. Each keyring runs on a private D-Bus session: the user's is
// never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForeground } from '../support/harness.mjs';
import {
  loginViaRpc,
  makeIsolatedSandbox,
  percentile,
  sleep,
  stopChild,
  timed,
  withSandbox,
} from '../support/reliability.mjs';
import { hasCommand } from '../support/processes.mjs';

const missing = ['dbus-run-session', 'gnome-keyring-daemon', 'dbus-send'].filter(
  (c) => !hasCommand(c),
);
const skip = missing.length > 0 && `needs ${missing.join(', ')}`;

/** The keychain timeout (src/daemon/stores/keychainStore.ts) and the bound on anything waiting for it. */
const KEYCHAIN_TIMEOUT_MS = 5000;
const STALL_BOUND_MS = KEYCHAIN_TIMEOUT_MS + 2000;
/**
 * What agent.status and a file-store profile may take once the keychain has been given up: far
 * below the 5 s a call that waited for the keychain would take, with room for a loaded machine.
 */
const QUICK_MS = 1500;

/**
 * A private D-Bus session with a gnome-keyring whose login keyring exists but is locked: a first
 * keyring daemon creates it with a password, a second starts without unlocking it. Resolves with
 * the bus address, the keyring's pid, and close().
 */
async function lockedKeyringSession() {
  const home = mkdtempSync(join(tmpdir(), 'kms-agent-keyring-'));
  const info = join(home, 'session-info');
  const script = `
    wait_for_keyring() {
      for i in $(seq 200); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && return 0
        sleep 0.05
      done
      return 1
    }
    printf secret | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 & CREATOR=$!
    wait_for_keyring; kill $CREATOR; wait $CREATOR 2>/dev/null
    gnome-keyring-daemon --foreground --components=secrets >/dev/null 2>&1 & KEYRING=$!
    wait_for_keyring
    echo "$DBUS_SESSION_BUS_ADDRESS $KEYRING" > "$INFO.part" && mv "$INFO.part" "$INFO"
    cat >/dev/null
    kill -CONT $KEYRING 2>/dev/null; kill $KEYRING 2>/dev/null`;
  const { DBUS_SESSION_BUS_ADDRESS, DISPLAY, WAYLAND_DISPLAY, ...env } = process.env;
  const session = spawn('dbus-run-session', ['--', 'sh', '-c', script], {
    env: {
      ...env,
      HOME: home,
      XDG_RUNTIME_DIR: home,
      XDG_DATA_HOME: join(home, 'data'),
      INFO: info,
    },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Two keyring daemons start one after the other, each given up to 10 s.
  for (let i = 0; i < 600 && !existsSync(info); i++) await sleep(50);
  const text = existsSync(info) ? readFileSync(info, 'utf8').trim() : '';
  const [address, pid] = text.split(' ');
  if (!address || !pid) {
    session.kill();
    throw new Error('the private keyring session did not start');
  }
  return {
    address,
    keyringPid: Number(pid),
    close: async () => {
      session.stdin.end();
      await new Promise((r) => (session.exitCode !== null ? r() : session.once('exit', r)));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Two independent pollers, every 50 ms until stopped: agent.status, and token.get for a profile on
 * the file store. Independent, so that a stall of the whole agent shows in both.
 */
function watch(sb, profile) {
  const seen = { status: [], file: [], failures: [] };
  let on = true;
  const loop = async (label, call, into) => {
    while (on) {
      const r = await timed(call);
      into.push(r.ms);
      if (r.error) seen.failures.push(`${label}: ${r.error.message}`);
      await sleep(50);
    }
  };
  const done = Promise.all([
    loop('agent.status', () => sb.rpc('agent.status', {}), seen.status),
    loop(`token.get ${profile}`, () => sb.rpc('token.get', { profile }), seen.file),
  ]);
  return async () => {
    on = false;
    await done;
    return seen;
  };
}

const twoProfiles = (issuer, redirectUrl) =>
  `default_profile = "kc"\n[profiles.kc]\nclient_id = "kms-agent-test"\nissuer = "${issuer}"\nredirect_url = "${redirectUrl}"\n` +
  `[profiles.f]\nclient_id = "kms-agent-test"\nissuer = "${issuer}"\nredirect_url = "${redirectUrl}"\nstore = "file"\n`;

/** Logs profile kc in through the CLI (as a user would) and checks what it says about the store. */
async function loginAndCheckFallback(sb, says) {
  const stateDir = join(sb.dir, 'state', 'kms-agent');
  const login = await timed(() => sb.cli(['login', '--profile', 'kc']));
  assert.equal(login.value.code, 0, `login: ${login.value.stderr}`);
  const warning = login.value.stderr.split('\n').find((l) => l.startsWith('warning: '));
  assert.ok(warning, `login warns about the store: ${login.value.stderr}`);
  assert.match(warning, says);
  assert.ok(warning.endsWith(`; until then your login is in a 0600 file in ${stateDir}`), warning);
  const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles.find(
    (p) => p.name === 'kc',
  );
  assert.equal(status.store, 'file', 'status: the file store holds the login');
  assert.match(status.store_warning ?? '', says, 'status: store_warning says why');
  assert.equal(status.logged_in, true);
  const files = readdirSync(stateDir).filter((n) => n.endsWith('.json'));
  assert.ok(files.length >= 1, 'a grant file');
  for (const f of files) assert.equal(statSync(join(stateDir, f)).mode & 0o777, 0o600);
  const token = await sb.token(['--profile', 'kc']);
  assert.equal(token.code, 0, token.stderr);
  return login.ms;
}

test(
  'store faults: locked keyring → file store with a warning; a hung keyring stalls nothing beyond its timeout',
  { skip, timeout: 120_000 },
  async (t) => {
    const keyring = await lockedKeyringSession();
    const sb = await makeIsolatedSandbox({
      profiles: twoProfiles,
      env: {
        DBUS_SESSION_BUS_ADDRESS: keyring.address,
        DISPLAY: undefined,
        WAYLAND_DISPLAY: undefined,
      },
    });
    let agent;
    let stopped = false;
    await withSandbox(
      sb,
      t,
      async () => {
        // ---- Locked: the keyring answers "locked"; the agent falls back at once and says so.
        agent = await startForeground(sb);
        await loginViaRpc(sb, 'f');
        const lockedMs = await loginAndCheckFallback(sb, /OS keychain is locked/);
        t.diagnostic(`locked keyring: login with fallback took ${lockedMs.toFixed(0)} ms`);
        // A restart still finds the login, in the file store, without a new login.
        const codes = sb.provider.stats.grants.authorization_code;
        await stopChild(agent.child);
        agent = await startForeground(sb);
        const again = await sb.token(['--profile', 'kc']);
        assert.equal(again.code, 0, `after a restart: ${again.stderr}`);
        assert.equal(
          sb.provider.stats.grants.authorization_code,
          codes,
          'no new login after the restart',
        );
        await stopChild(agent.child);

        // ---- Hung: the keyring daemon is frozen. A fresh agent (no store decision yet) must not hang:
        // each keychain call gives up after 5 s, the agent moves to files, and meanwhile agent.status and
        // the file-store profile keep answering.
        process.kill(keyring.keyringPid, 'SIGSTOP');
        stopped = true;
        agent = await startForeground(sb);
        const stopWatching = watch(sb, 'f');
        await sleep(200);
        const tokenWhileHung = await timed(() => sb.cli(['token', '--profile', 'kc']));
        const watched = await stopWatching();
        t.diagnostic(
          `hung keyring: token answered in ${tokenWhileHung.ms.toFixed(0)} ms (exit ${tokenWhileHung.value.code}); meanwhile agent.status ${watched.status.length} calls ` +
            `p50 ${percentile(watched.status, 50).toFixed(1)} max ${Math.max(...watched.status).toFixed(0)} ms, file-store profile ${watched.file.length} calls max ${Math.max(...watched.file).toFixed(0)} ms`,
        );
        assert.ok(
          tokenWhileHung.ms < STALL_BOUND_MS,
          `token did not hang on the keychain (${tokenWhileHung.ms.toFixed(0)} ms)`,
        );
        assert.deepEqual(watched.failures, []);
        assert.ok(
          Math.max(...watched.status) < STALL_BOUND_MS,
          'agent.status answered within the keychain timeout',
        );
        // The keychain library runs on its own thread: the rest of the agent never waits for it.
        assert.ok(
          watched.file.length >= 10,
          `the file-store profile was asked all along (${watched.file.length} calls)`,
        );
        assert.ok(
          Math.max(...watched.file) < QUICK_MS,
          `the file-store profile never waited for the frozen keychain (max ${Math.max(...watched.file).toFixed(0)} ms)`,
        );
        // The login it had is in the file store (from the locked phase): found, served.
        assert.equal(tokenWhileHung.value.code, 0, tokenWhileHung.value.stderr);
        let status = (await sb.rpc('agent.status', {})).profiles.find((p) => p.name === 'kc');
        assert.equal(status.store, 'file');
        assert.match(status.store_warning ?? '', /OS keychain did not answer/);
        // Once given up, the keychain costs nothing any more.
        const quick = await timed(() => sb.rpc('agent.status', {}));
        assert.ok(
          quick.ms < QUICK_MS,
          `agent.status after the fallback: ${quick.ms.toFixed(0)} ms`,
        );
        // A new login while the keyring is frozen goes to the file store with the warning, in bounded time.
        await sb.cli(['logout', '--profile', 'kc']);
        const hungLoginMs = await loginAndCheckFallback(sb, /OS keychain did not answer/);
        t.diagnostic(`hung keyring: login took ${hungLoginMs.toFixed(0)} ms`);
        await stopChild(agent.child);

        // ---- No D-Bus at all (a bus address where nothing listens): fails fast, same fallback.
        process.kill(keyring.keyringPid, 'SIGCONT');
        stopped = false;
        agent = await startForeground(sb, [], {
          DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(sb.dir, 'no-bus')}`,
        });
        const noBus = await timed(() => sb.cli(['token', '--profile', 'kc']));
        assert.equal(noBus.value.code, 0, noBus.value.stderr);
        assert.ok(noBus.ms < 3000, `no bus: answered in ${noBus.ms.toFixed(0)} ms`);
        status = (await sb.rpc('agent.status', {})).profiles.find((p) => p.name === 'kc');
        assert.match(
          status.store_warning ?? '',
          /^no keychain on this machine \(no D-Bus session\): your login is in a 0600 file in /,
        );
        t.diagnostic(
          `no D-Bus: token from the file store in ${noBus.ms.toFixed(0)} ms; ${status.store_warning}`,
        );
      },
      async () => {
        if (stopped) process.kill(keyring.keyringPid, 'SIGCONT');
        await stopChild(agent?.child);
        await keyring.close();
      },
    );
  },
);
