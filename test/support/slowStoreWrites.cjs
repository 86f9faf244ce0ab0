// Preloaded into the agent by test/reliability/crashes.test.mjs (NODE_OPTIONS=--require …): each
// store file (a `.tmp` written before its rename) is written half, synced, then paused for
// SLOW_STORE_WRITES_MS before the rest, so a test can kill the agent in the middle of a write and
// check that no store file is ever torn. Test code only: the agent has no such hook.
const fs = require('node:fs/promises');
const { syncBuiltinESMExports } = require('node:module');

const pauseMs = Math.min(10_000, Number(process.env.SLOW_STORE_WRITES_MS) || 0);
const open = fs.open;
fs.open = async function slowOpen(path, flags, mode) {
  const handle = await open(path, flags, mode);
  if (pauseMs <= 0 || typeof path !== 'string' || !path.endsWith('.tmp')) return handle;
  const writeFile = handle.writeFile.bind(handle);
  handle.writeFile = async (content) => {
    const half = Math.floor(content.length / 2);
    await writeFile(content.slice(0, half));
    await handle.sync();
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    await writeFile(content.slice(half));
  };
  return handle;
};
// The agent is ES modules: its `import { open } from 'node:fs/promises'` must see the wrapper.
syncBuiltinESMExports();
