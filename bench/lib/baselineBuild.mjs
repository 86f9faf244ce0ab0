// A build of another revision of kms-agent, to measure the current build against in the same run
// (bench/compare/). It lives in a detached git worktree of that commit under the OS temp
// directory, outside the repository, where `npm ci` and `npm run build` run once: later runs
// reuse it, keyed by the full commit id. Drop one with `git worktree remove DIR`.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAt, ROOT } from './buildEntries.mjs';
import { run } from './childCommands.mjs';

/** The revision the later issues measure against ("no regression against a build of 3efa9f9"). */
export const DEFAULT_BASELINE = '3efa9f9';
const CACHE = join(tmpdir(), 'kms-agent-bench-baselines');
/** Written last: a directory without it is an interrupted build. */
const BUILT = '.bench-built';

/** BENCH_BASELINE: unset or 0, none; 1, DEFAULT_BASELINE; anything else, a git revision. */
export function baselineRevision(value = process.env.BENCH_BASELINE) {
  if (!value || value === '0') return null;
  return value === '1' ? DEFAULT_BASELINE : value;
}

const git = async (...args) => (await run('git', ['-C', ROOT, ...args])).stdout.trim();

/** npm's own variables of `npm run bench` would leak into the baseline's npm: left out. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
}

async function removeWorktree(dir) {
  await git('worktree', 'remove', '--force', dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  await git('worktree', 'prune');
}

/** Checks out `commit` into a fresh worktree, installs and builds it there. */
async function buildInto(dir, commit, say) {
  await git('worktree', 'add', '--detach', dir, commit);
  const options = { cwd: dir, env: cleanEnv(), timeout: 600_000, maxBuffer: 64 << 20 };
  say(`baseline: npm ci in ${dir}`);
  await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], options);
  say('baseline: npm run build');
  await run('npm', ['run', 'build', '--silent'], options);
  writeFileSync(join(dir, BUILT), `${commit}\n`);
}

/**
 * The baseline build of `revision`, built first if this machine has none yet. Built under a
 * name of its own, then moved into place, so that two runs at once never share a half build.
 */
export async function prepareBaseline(revision, say) {
  const commit = await git('rev-parse', '--verify', `${revision}^{commit}`);
  const short = await git('rev-parse', '--short', commit);
  const dir = join(CACHE, commit);
  if (existsSync(join(dir, BUILT))) return { ...buildAt(dir, 'baseline'), commit: short };
  mkdirSync(CACHE, { recursive: true, mode: 0o700 });
  const building = `${dir}.building-${process.pid}`;
  say(`baseline: building ${short} (once; kept in ${CACHE})`);
  try {
    await buildInto(building, commit, say);
    if (existsSync(join(dir, BUILT))) {
      await removeWorktree(building); // another run finished the same build meanwhile
    } else {
      if (existsSync(dir)) await removeWorktree(dir); // an interrupted build
      await git('worktree', 'move', building, dir);
    }
  } catch (err) {
    await removeWorktree(building);
    throw new Error(`baseline ${revision} could not be built: ${err.message}`);
  }
  return { ...buildAt(dir, 'baseline'), commit: short };
}
