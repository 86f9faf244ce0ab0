// Another uid for the tests: nobody (65534), through util-linux's setpriv, which needs root. A test
// that acts as another user (a peer the agent must refuse, a process reading the agent's memory)
// runs its snippets here.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const NOBODY = 65534;

/** Why tests that act as nobody are skipped here, or false. */
export const otherUserSkip =
  process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v setpriv']).status === 0
    ? false
    : 'needs root and setpriv to act as nobody';

const SETPRIV = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

/** Runs a node snippet (an ES module) as nobody; it prints one JSON line, returned parsed. */
export function asNobody(script, env = {}) {
  const r = spawnSync(
    SETPRIV[0],
    [...SETPRIV.slice(1), process.execPath, '--input-type=module', '-e', script],
    { env: { PATH: process.env.PATH, ...env }, cwd: '/', encoding: 'utf8', timeout: 15_000 },
  );
  assert.equal(r.status, 0, `setpriv as nobody: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** Starts `argv` as nobody in the background (a daemon, a process to look at). */
export function spawnAsNobody(argv, { env = {}, cwd = '/' } = {}) {
  return spawn(SETPRIV[0], [...SETPRIV.slice(1), ...argv], {
    env: { PATH: process.env.PATH, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Gives `dir` and everything under it to nobody. */
export function giveToNobody(dir) {
  chownSync(dir, NOBODY, NOBODY);
  if (!statSync(dir).isDirectory()) return;
  for (const entry of readdirSync(dir)) giveToNobody(join(dir, entry));
}

/**
 * The built CLI at a path nobody can reach. A clone in a directory only its owner may enter (one
 * `mktemp -d` made) is out of nobody's reach: its dist/, node_modules/ and package.json are then
 * linked (hard links, the same files) into `dir`, which nobody may enter.
 */
export function cliForNobody(root, dir) {
  const cli = join(root, 'dist', 'client', 'bin.cjs');
  const reach = `import { accessSync } from 'node:fs';
    try { accessSync(process.env.CLI); console.log('true'); } catch { console.log('false'); }`;
  if (asNobody(reach, { CLI: cli })) return cli;
  chmodSync(dir, 0o755);
  for (const entry of ['dist', 'node_modules', 'package.json']) {
    const linked = spawnSync('cp', ['-al', join(root, entry), join(dir, entry)]);
    if (linked.status !== 0) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  }
  return join(dir, 'dist', 'client', 'bin.cjs');
}
