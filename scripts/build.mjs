#!/usr/bin/env node
// `npm run build`: tsc writes dist/, then the two bundles and their code caches
// (scripts/bundleFastPath.mjs, scripts/bundleDaemon.mjs). Whatever the caller's umask, nothing it
// writes is group- or world-writable: the agent executes these files, so another user who could
// change one would run code as this user. Every step runs under umask 022, into a dist/ made
// afresh: a file tsc rewrites keeps its old mode, and tsc leaves the output of a source that is
// gone (a renamed module would stay importable).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEPS = [
  [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
  [join(ROOT, 'scripts', 'bundleFastPath.mjs')],
  [join(ROOT, 'scripts', 'bundleDaemon.mjs')],
];

process.umask(0o022);
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
for (const [script, ...args] of STEPS) {
  const run = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
