/**
 * The daemon as one bundle, dist/daemon/daemon.bundle.cjs (daemonBundle.ts and everything it
 * imports, pino, smol-toml and openid-client included), compiled with its code cache: without Node's
 * ES module loader, and with the functions it runs already compiled, the daemon starts in less than
 * half the time (bench/RESULTS.md). The daemon's program runs it, and so does
 * `kms-agent start --foreground`, the one place the client becomes the daemon.
 */
import { loadBundle } from '../os/bundleLoader.js';
import { DAEMON_BUNDLE } from '../os/packageFiles.js';

export type DaemonBundle = typeof import('./daemonBundle.js');

export function loadDaemon(): DaemonBundle {
  return loadBundle<DaemonBundle>(DAEMON_BUNDLE);
}
