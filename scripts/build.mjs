#!/usr/bin/env node
// `npm run build`: tsc writes dist/, then the two bundles and their code caches
// (scripts/bundleFastPath.mjs, scripts/bundleDaemon.mjs). Whatever the caller's umask, nothing it
// writes is group- or world-writable: the agent executes these files, so another user who could
// change one would run code as this user. Every step runs under umask 022, and what an earlier
// build left writable (a file tsc rewrites keeps its mode) loses that bit.
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEPS = [
  [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
  [join(ROOT, 'scripts', 'bundleFastPath.mjs')],
  [join(ROOT, 'scripts', 'bundleDaemon.mjs')],
];

/** Removes group and other write permission from `path` and all under it (links left alone). */
function withoutSharedWrite(path) {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.mode & 0o022) chmodSync(path, stat.mode & 0o7755);
  if (!stat.isDirectory()) return;
  for (const name of readdirSync(path)) withoutSharedWrite(join(path, name));
}

process.umask(0o022);
for (const [script, ...args] of STEPS) {
  const run = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
withoutSharedWrite(join(ROOT, 'dist'));
