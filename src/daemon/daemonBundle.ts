/** What the daemon's bundle exports (loadDaemon.ts): the detached program's entry, and the agent. */
export { runMain } from './main.js';
export { runDaemon } from './run.js';
