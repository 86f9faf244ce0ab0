// The daemon runs from one bundle (scripts/build.mjs) compiled with its V8 code cache
// (src/daemon/loadDaemon.ts), the way `kms-agent start` and autostart launch it: a cache this node
// accepts, a daemon that logs in and serves from the bundle, and one that still starts when the
// cache is missing or comes from another V8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { ROOT, makeSandbox } from './support/harness.mjs';

const BUNDLE = join(ROOT, 'dist', 'daemon', 'daemon.bundle.cjs');

function run(cli, args, env) {
  return new Promise((resolve) =>
    execFile(process.execPath, [cli, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    ),
  );
}

test('the daemon runs from its bundle, with a code cache this node accepts', async (t) => {
  await t.test('the build made a cache V8 accepts for the bundle as it is', () => {
    const script = new Script(readFileSync(BUNDLE, 'utf8'), {
      filename: BUNDLE,
      cachedData: readFileSync(`${BUNDLE}.cache`),
    });
    assert.equal(script.cachedDataRejected, false);
  });
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    await t.test(
      'start launches dist/daemon/daemon.cjs, which logs in and serves tokens',
      async () => {
        assert.equal((await sb.cli(['start'])).code, 0);
        const { pid } = await sb.rpc('agent.status');
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        assert.ok(argv.includes(join(ROOT, 'dist', 'daemon', 'daemon.cjs')), argv.join(' '));
        await sb.login();
        const r = await sb.token();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      },
    );
  } finally {
    await sb.close();
  }
});

test('a daemon whose code cache is missing, or from another V8, starts all the same', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'kms-agent-dist-'));
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const cache = join(copy, 'dist', 'daemon', 'daemon.bundle.cjs.cache');
    const cli = join(copy, 'dist', 'client', 'bin.cjs');
    for (const [what, change] of [
      ['a cache from another V8', () => writeFileSync(cache, Buffer.alloc(4096, 7))],
      ['no cache', () => rmSync(cache)],
    ]) {
      await t.test(what, async () => {
        change();
        const started = await run(cli, ['start'], sb.env);
        assert.equal(started.code, 0, started.stderr);
        const { pid } = await sb.rpc('agent.status');
        assert.ok(
          readFileSync(`/proc/${pid}/cmdline`, 'utf8')
            .split('\0')
            .includes(join(copy, 'dist', 'daemon', 'daemon.cjs')),
        );
        assert.equal(
          (await run(cli, ['token'], sb.env)).code,
          5,
          'not logged in: the agent answers',
        );
        assert.equal((await run(cli, ['stop'], sb.env)).code, 0);
      });
    }
  } finally {
    await sb.close();
    rmSync(copy, { recursive: true, force: true });
  }
});
