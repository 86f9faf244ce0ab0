// The daemon's memory holds every token and refresh token; a core dump of it must not (docs/SECURITY.md).
// gdb's gcore honours /proc/PID/coredump_filter as the kernel does, so it shows what a crash would write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand } from '../support/processes.mjs';
import { makeSandbox } from '../support/harness.mjs';

const missing =
  !hasCommand('gcore') &&
  'gcore (Debian package gdb) is not installed: scripts/setup-debian.sh installs it';

/** Dumps a process's memory as a crash would; returns the core file's bytes. */
function coreOf(pid, dir) {
  mkdirSync(dir, { recursive: true });
  execFileSync('gcore', ['-o', join(dir, 'core'), String(pid)], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  const file = readdirSync(dir).find((name) => name.startsWith('core.'));
  assert.ok(file, 'gcore wrote a core file');
  return readFileSync(join(dir, file));
}

test(
  'a core dump of the daemon holds no token and no refresh token',
  { skip: missing, timeout: 120_000 },
  async (t) => {
    if (missing) assert.fail(missing);
    const sb = await makeSandbox({ profile: { store: 'file' } });
    try {
      await sb.login();
      const token = (await sb.token()).stdout.trim();
      assert.ok(token.length > 100);
      const refreshToken = JSON.parse(
        readFileSync(
          join(
            sb.dir,
            'state',
            'kms-agent',
            readdirSync(join(sb.dir, 'state', 'kms-agent')).find((f) => f.endsWith('.json')),
          ),
          'utf8',
        ),
      ).refresh_token;
      const { pid } = await sb.rpc('agent.status', {});

      await t.test('the daemon clears its coredump_filter', () => {
        assert.equal(readFileSync(`/proc/${pid}/coredump_filter`, 'utf8').trim(), '00000000');
      });

      await t.test('its core holds neither the token nor the refresh token', () => {
        const core = coreOf(pid, join(sb.dir, 'agent-core'));
        assert.equal(core.includes(token), false, 'no access/id token in the core');
        assert.equal(core.includes(refreshToken), false, 'no refresh token in the core');
      });

      await t.test(
        'control: the same dump of a process that did not clear it holds the secret',
        async () => {
          const secret = `control-secret-${Date.now()}-${'x'.repeat(40)}`;
          const child = spawn(
            process.execPath,
            [
              '-e',
              `globalThis.s = ${JSON.stringify(secret)}.split('').join(''); setInterval(() => {}, 1000);`,
            ],
            { stdio: 'ignore' },
          );
          try {
            await new Promise((r) => setTimeout(r, 500));
            const core = coreOf(child.pid, join(sb.dir, 'control-core'));
            assert.equal(core.includes(secret), true, 'gcore sees a normal process heap');
          } finally {
            child.kill();
          }
        },
      );
      assert.ok(existsSync(sb.socketPath), 'the daemon survived the dump');
    } finally {
      await sb.close();
    }
  },
);
