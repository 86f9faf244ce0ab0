// Token stores: the file store on disk, the memory store, the OS keychain against a real Secret
// Service, and the fall back from the keychain to files when there is no keychain.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FallbackStore } from '../dist/daemon/stores/fallbackStore.js';
import { openStore } from '../dist/daemon/stores/storeFactory.js';
import { FileStore } from '../dist/daemon/stores/fileStore.js';
import { KeychainStore } from '../dist/daemon/stores/keychainStore.js';
import { MemoryStore } from '../dist/daemon/stores/memoryStore.js';
import { StoreUnavailableError } from '../dist/daemon/stores/tokenStore.js';
import { hasCommand } from './support/processes.mjs';

const storesUrl = new URL('../dist/daemon/stores/', import.meta.url).href;
// Keys name profile, client and provider, so they hold '/', ':' and '@'.
const KEY = `stores-test-${process.pid}:client/https://idp.example.com@alice`;

function grant(refreshToken = `rt-${Math.random().toString(36).slice(2)}`) {
  return {
    refresh_token: refreshToken,
    subject: 'alice',
    email: 'alice@example.com',
    scope: 'openid email offline_access',
    saved_at: 1700000000,
  };
}

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-stores-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const fileNameOf = (key) => `${createHash('sha256').update(key).digest('hex')}.json`;
const modeOf = (path) => statSync(path).mode & 0o777;

/**
 * Runs an ES module snippet in a fresh node, with the stores at hand, and returns the JSON it
 * printed last. `shell` wraps the node command line, to set limits or a private session bus.
 */
function runChild(script, { env = process.env, shell = (node) => node } = {}) {
  const source = `
    const { KeychainStore } = await import('${storesUrl}keychainStore.js');
    const { FileStore } = await import('${storesUrl}fileStore.js');
    const { FallbackStore } = await import('${storesUrl}fallbackStore.js');
    const describeError = (e) => ({ name: e.name, store: e.store, message: e.message });
    ${script}`;
  const result = spawnSync('sh', ['-c', shell('node --input-type=module -e "$SCRIPT"')], {
    env: { ...env, SCRIPT: source },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.error, undefined, `child did not finish: ${result.error}`);
  assert.equal(result.status, 0, `child failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

describe('FileStore', () => {
  test('round trip, 0700 directory, 0600 file named from the key, remove', async (t) => {
    const dir = join(tempDir(t), 'state', 'kms-agent');
    const store = new FileStore(dir);
    const saved = grant();

    await store.save(KEY, saved);
    assert.deepEqual(await store.load(KEY), saved);
    assert.equal(await store.load(`${KEY}-other`), null);
    assert.equal(modeOf(dir), 0o700);
    assert.deepEqual(readdirSync(dir), [fileNameOf(KEY)], 'one file, no temp file left');
    assert.equal(modeOf(join(dir, fileNameOf(KEY))), 0o600);

    const rotated = grant();
    await store.save(KEY, rotated);
    assert.deepEqual(await store.load(KEY), rotated);
    assert.deepEqual(readdirSync(dir), [fileNameOf(KEY)]);

    await store.remove(KEY);
    assert.equal(await store.load(KEY), null);
    await store.remove(KEY); // missing is fine
  });

  test('refuses a directory that group or others can write', async (t) => {
    const dir = join(tempDir(t), 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o770);
    const store = new FileStore(dir);
    for (const attempt of [() => store.save(KEY, grant()), () => store.load(KEY)]) {
      await assert.rejects(attempt, (error) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.store, 'file');
        assert.match(error.message, /mode 0770 .*chmod 700/);
        return true;
      });
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  test('refuses a directory owned by another user', async (t) => {
    if (process.getuid() !== 0) return t.skip('needs root to give a directory to another user');
    const dir = join(tempDir(t), 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    await assert.rejects(new FileStore(dir).load(KEY), (error) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.match(error.message, /owned by uid 65534/);
      return true;
    });
  });

  test('a failed write leaves the previous file intact and no temp file', async (t) => {
    const dir = tempDir(t);
    const good = grant();
    await new FileStore(dir).save(KEY, good);

    // A file-size limit makes the write fail half-way, after the temp file exists.
    const tooBig = grant('x'.repeat(16_384));
    const outcome = runChild(
      `process.on('SIGXFSZ', () => {});
       try { await new FileStore(${JSON.stringify(dir)}).save(${JSON.stringify(KEY)}, ${JSON.stringify(tooBig)});
             console.log(JSON.stringify({ saved: true })); }
       catch (e) { console.log(JSON.stringify(describeError(e))); }`,
      { shell: (node) => `ulimit -f 1; ${node}` },
    );
    assert.equal(outcome.name, 'StoreUnavailableError');
    assert.equal(outcome.store, 'file');
    assert.match(outcome.message, /cannot write .*EFBIG/);
    assert.ok(!outcome.message.includes(tooBig.refresh_token), 'no token in the error');
    assert.deepEqual(await new FileStore(dir).load(KEY), good);
    assert.deepEqual(readdirSync(dir), [fileNameOf(KEY)]);
  });

  test('a corrupt or foreign file reads as no login', async (t) => {
    const dir = tempDir(t);
    const store = new FileStore(dir);
    await store.save(KEY, grant());
    for (const content of [
      '{"refresh_token": "abc", "saved_',
      '"just a string"',
      '{"refresh_token": 5, "saved_at": 1}',
      '',
    ]) {
      writeFileSync(join(dir, fileNameOf(KEY)), content);
      assert.equal(await store.load(KEY), null, JSON.stringify(content));
    }
  });
});

test('MemoryStore: round trip, copies, remove', async () => {
  const store = new MemoryStore();
  const saved = grant();
  await store.save(KEY, saved);
  saved.refresh_token = 'changed by the caller';
  const loaded = await store.load(KEY);
  assert.notEqual(loaded.refresh_token, saved.refresh_token);
  await store.remove(KEY);
  assert.equal(await store.load(KEY), null);
  await store.remove(KEY);
  assert.equal(store.kind, 'memory');
});

test('openStore picks the store the profile names', () => {
  const dir = join(tmpdir(), 'kms-agent-unused');
  assert.ok(openStore('keychain', dir) instanceof FallbackStore);
  assert.equal(openStore('keychain', dir).kind, 'keychain');
  assert.ok(openStore('file', dir) instanceof FileStore);
  assert.ok(openStore('memory', dir) instanceof MemoryStore);
});

describe(
  'KeychainStore against the real Secret Service',
  {
    skip:
      !process.env.DBUS_SESSION_BUS_ADDRESS &&
      'no D-Bus session (run inside dbus-run-session with gnome-keyring)',
  },
  () => {
    const store = new KeychainStore();
    const lookup = (key) =>
      spawnSync('secret-tool', ['lookup', 'service', 'kms-agent', 'username', key], {
        encoding: 'utf8',
      });

    test('round trip, seen by secret-tool, remove', async (t) => {
      t.after(() => store.remove(KEY));
      const saved = grant();
      await store.save(KEY, saved);
      assert.deepEqual(await store.load(KEY), saved);
      if (hasCommand('secret-tool')) {
        const seen = lookup(KEY);
        assert.equal(seen.status, 0, seen.stderr);
        assert.deepEqual(JSON.parse(seen.stdout), saved, 'the entry is in the real keyring');
      } else {
        t.diagnostic(
          'secret-tool (libsecret-tools) not installed: keyring contents not cross-checked',
        );
      }

      await store.remove(KEY);
      assert.equal(await store.load(KEY), null);
      if (hasCommand('secret-tool'))
        assert.notEqual(lookup(KEY).status, 0, 'gone from the keyring');
    });

    test('300 calls hold one D-Bus connection, not one each (a user may have 256)', async (t) => {
      t.after(() => store.remove(KEY));
      const bus = ['--dest=org.freedesktop.DBus', '/org/freedesktop/DBus'];
      const listNames = ['--session', '--print-reply', ...bus, 'org.freedesktop.DBus.ListNames'];
      const connections = () => {
        const names = execFileSync('dbus-send', listNames, { encoding: 'utf8' });
        return names.split('\n').filter((line) => line.includes('string ":')).length;
      };
      await store.save(KEY, grant());
      const before = connections();
      for (let i = 0; i < 100; i++) {
        await store.load(KEY);
        await store.save(KEY, grant());
        await store.load(KEY);
      }
      const added = connections() - before;
      t.diagnostic(`D-Bus connections added by 300 keychain calls: ${added}`);
      assert.ok(added <= 1, `${added} connections`);
    });

    test('missing entry: load is null, remove succeeds', async () => {
      const missing = `${KEY}-never-saved`;
      assert.equal(await store.load(missing), null);
      await store.remove(missing);
    });

    test(
      'a corrupt entry reads as no login',
      { skip: !hasCommand('secret-tool') && 'secret-tool not installed' },
      async (t) => {
        t.after(() => store.remove(KEY));
        execFileSync(
          'secret-tool',
          ['store', '--label=corrupt', 'service', 'kms-agent', 'username', KEY],
          { input: '{"refresh_token": "ab' },
        );
        assert.equal(await store.load(KEY), null);
      },
    );
    test('a login left in the file store by a headless run moves into the keychain', async (t) => {
      const dir = tempDir(t);
      t.after(() => store.remove(KEY));
      const left = grant();
      await new FileStore(dir).save(KEY, left);
      const fallback = new FallbackStore(store, new FileStore(dir));
      assert.deepEqual(
        await fallback.load(KEY),
        left,
        'the file login is found, not "login required"',
      );
      assert.equal(fallback.kind, 'keychain');
      assert.deepEqual(await store.load(KEY), left, 'now in the keychain');
      assert.equal(await new FileStore(dir).load(KEY), null, 'and no longer in the file');
    });
  },
);

describe('without a usable keychain', () => {
  const { DBUS_SESSION_BUS_ADDRESS, DISPLAY, WAYLAND_DISPLAY, ...noDbusEnv } = process.env;

  test('no D-Bus: fails fast with StoreUnavailableError, and FallbackStore moves to files', (t) => {
    const dir = join(tempDir(t), 'state');
    const saved = grant();
    const outcome = runChild(
      `const started = performance.now();
       let keychainError;
       try { await new KeychainStore().save('probe', ${JSON.stringify(saved)}); } catch (e) { keychainError = describeError(e); }
       const elapsedMs = performance.now() - started;
       const store = new FallbackStore(new KeychainStore(), new FileStore(${JSON.stringify(dir)}));
       const before = { kind: store.kind, warning: store.warning };
       await store.save(${JSON.stringify(KEY)}, ${JSON.stringify(saved)});
       const loaded = await store.load(${JSON.stringify(KEY)});
       console.log(JSON.stringify({ keychainError, elapsedMs, before, kind: store.kind, warning: store.warning, loaded }));`,
      { env: noDbusEnv },
    );
    assert.equal(outcome.keychainError?.name, 'StoreUnavailableError');
    assert.equal(outcome.keychainError.store, 'keychain');
    assert.equal(outcome.keychainError.message, 'no keychain on this machine (no D-Bus session)');
    assert.ok(outcome.elapsedMs < 1000, `failed fast, not by timeout (${outcome.elapsedMs} ms)`);
    t.diagnostic(`${outcome.warning} (keychain failed after ${outcome.elapsedMs.toFixed(1)} ms)`);

    assert.deepEqual(outcome.before, { kind: 'keychain' });
    assert.equal(outcome.kind, 'file');
    assert.equal(
      outcome.warning,
      `no keychain on this machine (no D-Bus session): your login is in a 0600 file in ${dir}`,
    );
    assert.ok(!outcome.warning.includes(saved.refresh_token));
    assert.deepEqual(outcome.loaded, saved);
    assert.equal(modeOf(join(dir, fileNameOf(KEY))), 0o600);
  });

  test(
    'a locked or hung keyring fails with a reason, not a hang',
    {
      skip:
        !['dbus-run-session', 'gnome-keyring-daemon', 'dbus-send'].every(hasCommand) &&
        'needs dbus-run-session, gnome-keyring-daemon and dbus-send',
    },
    (t) => {
      // A private bus, home and runtime dir. A first keyring daemon creates a login keyring with a
      // password; a second one starts with it locked, and is later frozen with SIGSTOP. The user's own
      // keyring is never touched.
      const home = tempDir(t);
      const keyringOnPrivateBus = (node) =>
        `exec dbus-run-session -- sh -c '
        wait_for_keyring() {
          for i in $(seq 100); do
            dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && return
            sleep 0.05
          done
        }
        printf secret | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 & CREATOR_PID=$!
        wait_for_keyring; kill $CREATOR_PID; wait $CREATOR_PID
        gnome-keyring-daemon --foreground --components=secrets >/dev/null 2>&1 & KEYRING_PID=$!; export KEYRING_PID
        wait_for_keyring
        ${node}; status=$?; kill $KEYRING_PID; exit $status'`;
      const outcome = runChild(
        `const { execSync } = await import('node:child_process');
       const store = new KeychainStore({ timeoutMs: 1000 });
       let locked;
       try { await store.save('probe', { refresh_token: 'rt', saved_at: 1 }); } catch (e) { locked = describeError(e); }
       execSync('kill -STOP "$KEYRING_PID"');
       const started = performance.now();
       let hung;
       try { await store.load('probe'); } catch (e) { hung = describeError(e); }
       const hungMs = performance.now() - started;
       execSync('kill -CONT "$KEYRING_PID"');
       console.log(JSON.stringify({ locked, hung, hungMs }));`,
        {
          env: {
            ...noDbusEnv,
            HOME: home,
            XDG_RUNTIME_DIR: home,
            XDG_DATA_HOME: join(home, 'data'),
          },
          shell: keyringOnPrivateBus,
        },
      );
      assert.equal(outcome.locked?.name, 'StoreUnavailableError');
      assert.match(outcome.locked.message, /^OS keychain is locked \(.*\): unlock it/);
      assert.equal(outcome.hung?.name, 'StoreUnavailableError');
      assert.match(outcome.hung.message, /^OS keychain did not answer/);
      assert.ok(outcome.hungMs < 5000, `gave up in ${outcome.hungMs} ms`);
      t.diagnostic(`locked: ${outcome.locked.message}`);
      t.diagnostic(`hung: ${outcome.hung.message} (after ${Math.round(outcome.hungMs)} ms)`);
    },
  );
});
