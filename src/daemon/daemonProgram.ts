/**
 * The daemon's program, built into dist/daemon/daemon.cjs: what the launcher
 * (src/client/fast/daemonLauncher.ts) and the service units run. It runs main.ts's runMain from the
 * daemon's bundle (loadDaemon.ts).
 */
import { loadDaemon } from './loadDaemon.js';

void loadDaemon().runMain();
