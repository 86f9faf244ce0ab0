/**
 * Where the files of this installation are: the one module that knows the layout of dist/ (the
 * build writes it: scripts/build.mjs). It finds dist/ from its own directory, which is one folder
 * below it both as tsc writes this module (dist/os/) and inside each bundle that carries it
 * (dist/client/, dist/daemon/: the build defines import.meta.dirname as the bundle's directory).
 */
import { join } from 'node:path';

const DIST = join(import.meta.dirname, '..');

export const PACKAGE_ROOT = join(DIST, '..');
export const PACKAGE_JSON = join(PACKAGE_ROOT, 'package.json');

/** The `kms-agent` executable (package.json "bin"), and the full CLI it imports for most commands. */
export const CLI_BIN = join(DIST, 'client', 'bin.cjs');
export const CLI_MODULE = join(DIST, 'client', 'cli.js');
/** The commands that run without commander or ES modules, in one script with its code cache. */
export const FAST_PATH_BUNDLE = join(DIST, 'client', 'fastPath.bundle.cjs');

/** The daemon's program (what the launcher and the service units run), and the daemon itself. */
export const DAEMON_PROGRAM = join(DIST, 'daemon', 'daemon.cjs');
export const DAEMON_BUNDLE = join(DIST, 'daemon', 'daemon.bundle.cjs');
/** The thread that runs the OS keychain library. */
export const KEYCHAIN_WORKER = join(DIST, 'daemon', 'stores', 'keychainWorker.cjs');

/**
 * Node's require, for what is loaded only when needed (a built-in, a package's CommonJS build), and
 * for what a bundle requires: the CommonJS files the build writes use their own, since they run
 * without Node's ES module loader, and importing node:module would start it. An ES module (the
 * tests import them) gets one made for the package.
 */
export function nodeRequire(): NodeJS.Require {
  if (typeof require === 'function') return require;
  return process.getBuiltinModule('node:module').createRequire(PACKAGE_JSON);
}
