#!/usr/bin/env node
// `npm run build`: dist/ afresh. tsc writes every module of src/ (the full CLI runs them, the tests
// import them); esbuild writes what runs without Node's ES module loader, as CommonJS:
// - the programs: the `kms-agent` executable (dist/client/bin.cjs), the daemon's program
//   (dist/daemon/daemon.cjs) and the keychain thread (dist/daemon/stores/keychainWorker.cjs);
// - the two bundles src/os/bundleLoader.ts loads with V8's code cache: the CLI's fast path
//   (dist/client/fastPath.bundle.cjs) and the daemon (dist/daemon/daemon.bundle.cjs), each cache
//   made by a warm-up run of the bundle (scripts/codeCache.mjs).
// src/os/packageFiles.ts is the one module that knows these paths, and bench/lib/buildEntries.mjs the
// one place in bench/. Whatever the caller's umask, nothing written is group- or world-writable: the
// agent executes these files, so another user who could change one would run code as this user.
// Every step runs under umask 022, into a dist/ made afresh (a renamed module must not stay
// importable from an old build).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages with a native part of their own, loaded from node_modules; the demo's provider too. */
const NATIVE = ['@napi-rs/keyring', 'koffi', 'oidc-provider'];

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // packageFiles.ts finds dist/ from import.meta.dirname: every output is one folder below dist/.
  define: { 'import.meta.dirname': '__dirname' },
};

/** A program Node runs as a CommonJS file. */
const program = (entry, outfile, external) => ({
  ...common,
  entryPoints: [entry],
  outfile,
  external,
});

/**
 * A bundle for bundleLoader.ts: a module body wrapped as a function expression, so the file is
 * exactly the script V8 compiles (and caches). A script has no ES module loader: import() becomes
 * a require.
 */
const loaded = (entry, outfile, external) => ({
  ...program(entry, outfile, external),
  supported: { 'dynamic-import': false },
  banner: {
    js: `// Built by scripts/build.mjs from ${entry}: do not edit.\n(function (exports, require, module, __filename, __dirname) {`,
  },
  footer: { js: '})' },
});

const BUILDS = [
  program('src/client/bin.ts', 'dist/client/bin.cjs', []),
  // Nothing from node_modules: a package on the fast path is loaded only when needed.
  {
    ...loaded('src/client/fastCommands.ts', 'dist/client/fastPath.bundle.cjs', []),
    packages: 'external',
  },
  program('src/daemon/daemonProgram.ts', 'dist/daemon/daemon.cjs', []),
  // The daemon holds its bundle's text as long as it runs (V8 compiles functions from it): 445 KB
  // instead of 625 KB without whitespace. Names are kept: a stack trace still names its functions.
  {
    ...loaded('src/daemon/daemonBundle.ts', 'dist/daemon/daemon.bundle.cjs', NATIVE),
    minifyWhitespace: true,
    minifySyntax: true,
  },
  program('src/daemon/stores/keychainWorker.ts', 'dist/daemon/stores/keychainWorker.cjs', NATIVE),
];

/** Runs a step; a quiet one's output (a daemon's log) is shown only when it fails. */
function run(script, args, quiet = false) {
  const stdio = quiet ? 'pipe' : 'inherit';
  const step = spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT,
    stdio,
    encoding: 'utf8',
  });
  if (step.status === 0) return;
  if (quiet) process.stderr.write(`${step.stdout}${step.stderr}`);
  process.exit(step.status ?? 1);
}

process.umask(0o022);
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
run(join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ['-p', 'tsconfig.json']);
await Promise.all(BUILDS.map((options) => build(options)));
run(join(ROOT, 'scripts', 'codeCache.mjs'), ['fast'], true);
run(join(ROOT, 'scripts', 'codeCache.mjs'), ['daemon'], true);
