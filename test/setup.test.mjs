// The set-up scripts of the README's first screen: `setup-debian.sh demo` asks apt for nothing,
// `setup-debian.sh test` names a package for every command the tests run, and a held apt lock is
// waited for instead of failing the set-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/harness.mjs';
import { hasCommand } from './support/processes.mjs';

const SETUP = join(ROOT, 'scripts', 'setup-debian.sh');

function run(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 120_000, ...options }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

const packagesOf = async (use) => {
  const r = await run(SETUP, ['--packages', use]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
};

/** Every program the test files start by name: spawn, spawnSync, execFile, execFileSync, run or hasCommand with the name first. */
function commandsTheTestsRun() {
  const files = readdirSync(join(ROOT, 'test'), { recursive: true }).filter((f) =>
    f.endsWith('.mjs'),
  );
  const found = new Set();
  for (const file of files) {
    const text = readFileSync(join(ROOT, 'test', file), 'utf8');
    for (const [, name] of text.matchAll(
      /\b(?:spawn|spawnSync|execFile|execFileSync|run|hasCommand)\('([\w.+-]+)'/g,
    ))
      found.add(name);
  }
  // Node's own, and the stand-in kms-agent the completion test puts on the PATH.
  for (const ours of ['npm', 'node', 'kms-agent']) found.delete(ours);
  return [...found].sort();
}

/** The Debian package that holds a command on this machine (usrmerge: dpkg may know it under /bin). */
function packageOf(command) {
  const path = spawnSync('sh', ['-c', `command -v ${command}`], {
    encoding: 'utf8',
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  }).stdout.trim();
  if (!path) return undefined;
  for (const candidate of new Set([
    path,
    realpathSync(path),
    path.replace(/^\/usr/, ''),
    realpathSync(path).replace(/^\/usr/, ''),
  ])) {
    const owner = spawnSync('dpkg', ['-S', candidate], { encoding: 'utf8' });
    const line = owner.stdout.split('\n').find((l) => l && !l.startsWith('diversion by'));
    if (owner.status === 0 && line) return line.split(':')[0].split(',')[0].trim();
  }
  return undefined;
}

/** Essential, required or important packages: on every Debian system. */
const alwaysThere = (pkg) =>
  /^(yes \S+|\S+ (required|important))$/.test(
    spawnSync('dpkg-query', ['-W', '-f=${Essential} ${Priority}', pkg], { encoding: 'utf8' })
      .stdout,
  );

/** The packages these ones depend on directly (python3 brings python3-minimal, which holds /usr/bin/python3). */
function dependenciesOf(pkgs) {
  const out = spawnSync('apt-cache', ['depends', '--important', ...pkgs], {
    encoding: 'utf8',
  }).stdout;
  return new Set([...out.matchAll(/Depends: <?([\w.+-]+)>?/g)].map((m) => m[1]));
}

test(
  'setup-debian.sh demo needs nothing from apt; test lists a package for every command the tests run',
  { skip: !hasCommand('dpkg') && 'needs Debian' },
  async (t) => {
    assert.deepEqual(
      await packagesOf('demo'),
      [],
      'the demo needs no browser, no benchmark tools, no keyring',
    );
    const testPackages = await packagesOf('test');
    for (const heavy of ['hyperfine', 'oidc-agent-cli'])
      assert.ok(!testPackages.includes(heavy), `${heavy} is bench/setup.sh's`);
    // kubectl is not in Debian 12 (its test skips without it); the rest must come from the list.
    const commands = commandsTheTestsRun().filter((command) => command !== 'kubectl');
    t.diagnostic(`commands the tests run: ${commands.join(' ')}`);
    const dependencies = dependenciesOf(testPackages);
    const unknown = [];
    for (const command of commands) {
      const pkg = packageOf(command);
      if (pkg === undefined) unknown.push(`${command} (not installed here)`);
      else if (!testPackages.includes(pkg) && !dependencies.has(pkg) && !alwaysThere(pkg))
        unknown.push(`${command} (package ${pkg})`);
    }
    assert.deepEqual(
      unknown,
      [],
      'each command comes with a package setup-debian.sh test installs',
    );
    const usage = await run(SETUP, []);
    assert.equal(usage.code, 2);
    assert.equal(
      usage.stderr,
      'usage: scripts/setup-debian.sh demo|test  (or --packages demo|test)\n',
    );
  },
);

/** Root, a private mount namespace and python3 (to hold apt's fcntl lock) are needed to hold a lock no one else sees. */
const lockSkip =
  (process.getuid?.() !== 0 && 'needs root') ||
  (spawnSync('unshare', ['-m', 'true']).status !== 0 && 'needs unshare -m') ||
  (!hasCommand('apt-get') && 'needs apt-get') ||
  (!hasCommand('python3') && 'needs python3');

test(
  'a held apt lock is waited for, not a failure; no debconf noise',
  { skip: lockSkip, timeout: 120_000 },
  async () => {
    // In a private mount namespace the package lists and the download cache are empty tmpfs, so the
    // lock held here is no other apt's, and nothing the machine has is touched. Another apt holds the
    // lists lock for 4 s; the script must wait, then run (offline: the package is not found).
    const script = `
    set -e
    for d in /var/lib/apt/lists /var/cache/apt/archives; do mount -t tmpfs tmpfs "$d"; mkdir "$d/partial"; done
    python3 -c 'import fcntl, sys, time; f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(4)' /var/lib/apt/lists/lock &
    sleep 1
    start=$(date +%s)
    status=0; "$0" kms-agent-no-such-package || status=$?
    echo "waited=$(( $(date +%s) - start )) status=$status"
  `;
    const child = spawn(
      'unshare',
      ['-m', 'sh', '-c', script, join(ROOT, 'scripts', 'apt-install-missing.sh')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((resolve) => child.on('close', resolve));
    const [, waited, status] = /waited=(\d+) status=(\d+)/.exec(stdout) ?? [];
    assert.match(stderr, /^setup: installing kms-agent-no-such-package$/m);
    assert.match(
      stderr,
      /^setup: another apt or dpkg is running \(held by process \d+ \(python3\)\): waiting for it to finish$/m,
    );
    assert.ok(Number(waited) >= 2, `waited for the lock (${waited} s)`);
    // After the wait apt really ran: it did not find the package (no lists offline), and said only that.
    assert.equal(status, '100', stderr);
    assert.match(stderr, /Unable to locate package kms-agent-no-such-package/);
    assert.doesNotMatch(stderr, /Could not get lock|debconf|apt-utils/);
  },
);
