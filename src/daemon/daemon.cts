/**
 * The daemon's program and module: dist/daemon/daemon.bundle.cjs (the whole daemon in one file,
 * scripts/bundleDaemon.mjs), compiled with the V8 code cache made when it was built. The launcher
 * (src/client/daemonLauncher.cts) runs this file as a program: main.ts's runMain. `kms-agent start
 * --foreground` requires it: run.ts's runDaemon. Without Node's ES module loader and with its
 * functions already compiled, the daemon starts in less than half the time (bench/RESULTS.md).
 * A cache from another V8 or other flags is rejected by V8: the bundle then compiles as usual.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';

type Daemon = typeof import('./main.js', { with: { 'resolution-mode': 'import' } }) & typeof import('./run.js', { with: { 'resolution-mode': 'import' } });

const BUNDLE = join(__dirname, 'daemon.bundle.cjs');

/** The bundle is a CommonJS module body wrapped as a function expression: compiled as it is, run as Node runs a module. */
export function loadDaemon(): Daemon {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${BUNDLE}.cache`);
  } catch {
    // No cache (a build that could not make one): V8 compiles the bundle as it runs.
  }
  const script = new Script(readFileSync(BUNDLE, 'utf8'), cachedData ? { filename: BUNDLE, cachedData } : { filename: BUNDLE });
  const module = { exports: {} as Daemon };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, BUNDLE, __dirname);
  return module.exports;
}

if (require.main === module) void loadDaemon().runMain();
