// A real install: scripts/install.sh packs a copy of the clone (its prepack script builds dist/) and
// installs a copy of the tarball into a prefix; that copy runs with the clone out of reach, and the
// service units it writes point at it. The copy keeps the build of the clone itself untouched, so
// the other test files, which run beside this one, keep their dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, makeSandbox } from './support/harness.mjs';
import { hasCommand } from './support/processes.mjs';

function run(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 180_000, ...options }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

/** Paths under `root` (links aside) that group or others may write. */
function sharedWritable(root) {
  const found = [];
  const walk = (path) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.mode & 0o022) found.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return found;
}

/** What the clone holds besides its build and its dependencies: a checkout as install.sh sees one. */
const NOT_COPIED = new Set(['node_modules', 'dist', 'test-output', '.git']);

/** A copy of the clone with the clone's node_modules linked in, for install.sh to build and pack. */
function cloneCopy() {
  const copy = mkdtempSync(join(tmpdir(), 'kms-agent-clone-'));
  cpSync(ROOT, copy, {
    recursive: true,
    filter: (source) => source === ROOT || !NOT_COPIED.has(source.slice(ROOT.length + 1)),
  });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

/** Whether this process may hide the clone behind a private mount (root, as the test runs in its own namespaces). */
const canHideClone = spawnSync('unshare', ['-m', 'true']).status === 0;

/** Runs a command in a mount namespace where the clone is an empty directory: nothing in it can be loaded. */
function withCloneHidden(command, args, env) {
  if (!canHideClone) return run(command, args, { env });
  const script = 'mount -t tmpfs tmpfs "$0" && exec "$@"';
  return run('unshare', ['-m', 'sh', '-c', script, ROOT, command, ...args], { env });
}

test(
  'scripts/install.sh --prefix DIR: a copy independent of the clone serves tokens; its units point at it',
  { skip: !hasCommand('npm') && 'needs npm', timeout: 300_000 },
  async (t) => {
    const prefix = mkdtempSync(join(tmpdir(), 'kms-agent-prefix-'));
    const clone = cloneCopy();
    const sb = await makeSandbox({ profile: { store: 'file' } });
    try {
      // npm's own cache serves the dependencies (the tests run without a network); with one, npm fetches what is missing.
      const cache = spawnSync('npm', ['config', 'get', 'cache'], {
        encoding: 'utf8',
      }).stdout.trim();
      // Under umask 000 (issue 20, finding 5): the build and the install still leave nothing that
      // group or others could write.
      const installed = await run(
        'sh',
        [
          '-c',
          'umask 000 && exec bash "$0" --prefix "$1"',
          join(clone, 'scripts', 'install.sh'),
          prefix,
        ],
        {
          env: { ...process.env, npm_config_cache: cache, npm_config_prefer_offline: 'true' },
        },
      );
      assert.equal(installed.code, 0, `install.sh: ${installed.stderr}`);
      for (const tree of [prefix, join(clone, 'dist')]) {
        const writable = sharedWritable(tree);
        assert.deepEqual(
          writable.slice(0, 5),
          [],
          `${writable.length} paths in ${tree} that group or others can write`,
        );
      }
      const bin = join(prefix, 'bin', 'kms-agent');
      assert.match(
        installed.stdout,
        new RegExp(`^installed ${bin} \\(\\d+\\.\\d+\\.\\d+\\)$`, 'm'),
      );
      const real = realpathSync(bin);
      assert.equal(
        real,
        join(prefix, 'lib', 'node_modules', 'kms-agent', 'dist', 'client', 'bin.cjs'),
        'a copy in the prefix, not a link into the clone',
      );
      t.diagnostic(`${bin} -> ${real}${canHideClone ? ' (run with the clone hidden)' : ''}`);

      let r = await withCloneHidden(bin, ['--version'], sb.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout.trim(),
        JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      );

      // Logged in with the clone's CLI (the test's fake browser lives in the clone), then the agent stops:
      // the installed copy starts its own agent and serves a token from the stored login.
      await sb.login();
      assert.equal((await sb.cli(['stop'])).code, 0);
      r = await withCloneHidden(bin, ['token'], {
        ...sb.env,
        PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      });
      assert.equal(r.code, 0, `the installed kms-agent token: ${r.stderr}`);
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      sb.rememberSecret(r.stdout.trim());
      const { pid } = await sb.rpc('agent.status', {});
      const daemon = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.equal(
        daemon.find((arg) => arg.endsWith('daemon.cjs')),
        join(prefix, 'lib', 'node_modules', 'kms-agent', 'dist', 'daemon', 'daemon.cjs'),
        'the agent runs from the installed copy',
      );

      r = await withCloneHidden(bin, ['install-service', '--dry-run'], sb.env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `^ {2}ExecStart=${process.execPath} --v8-pool-size=1 ${real} start --foreground$`,
          'm',
        ),
      );
    } finally {
      await sb.close();
      rmSync(prefix, { recursive: true, force: true });
      rmSync(clone, { recursive: true, force: true });
    }
  },
);
