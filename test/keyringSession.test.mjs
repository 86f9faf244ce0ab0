// The test session's Secret Service (scripts/test.sh): gnome-keyring-daemon can abort when a client
// disconnects in the middle of a call, and these tests kill agents in the middle of calls. A keyring
// that dies must come back unlocked, with its items, for the tests after it; a session bus that
// started one on demand would start it locked (that failed a CI run: every keychain test after it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const inSession = Boolean(
  process.env.KMS_AGENT_TEST_IN_SESSION && process.env.DBUS_SESSION_BUS_ADDRESS,
);

/** The pid that owns org.freedesktop.secrets on this session bus, or undefined. */
function keyringPid() {
  const r = spawnSync(
    'dbus-send',
    [
      '--session',
      '--print-reply',
      '--dest=org.freedesktop.DBus',
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus.GetConnectionUnixProcessID',
      'string:org.freedesktop.secrets',
    ],
    { encoding: 'utf8' },
  );
  const pid = /uint32 (\d+)/.exec(r.stdout)?.[1];
  return pid ? Number(pid) : undefined;
}

const secretTool = (args, input) => spawnSync('secret-tool', args, { input, encoding: 'utf8' });

test(
  "the test session's keyring comes back unlocked, with its items, when it dies",
  { skip: !inSession && 'runs inside scripts/test.sh' },
  async () => {
    const attributes = ['service', 'kms-agent-test-session', 'username', `keyring-${process.pid}`];
    try {
      assert.equal(
        secretTool(['store', '--label=kms-agent test', ...attributes], 'kept').status,
        0,
      );
      const first = keyringPid();
      assert.ok(first, 'a keyring owns org.freedesktop.secrets');
      process.kill(first, 'SIGABRT');
      let second;
      for (let i = 0; i < 100 && (!(second = keyringPid()) || second === first); i++)
        await sleep(50);
      assert.ok(second && second !== first, 'another keyring took its place');
      const lookup = secretTool(['lookup', ...attributes]);
      assert.equal(
        lookup.stdout,
        'kept',
        `unlocked, with the item stored before: ${lookup.stderr}`,
      );
      assert.equal(
        secretTool(['store', '--label=kms-agent test', ...attributes], 'again').status,
        0,
        'and writable',
      );
    } finally {
      secretTool(['clear', ...attributes]);
    }
  },
);
