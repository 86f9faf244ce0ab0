// Waiting for and stopping the processes a bench run started, by pid (never by name).
import { alive } from './procstat.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `test` until it holds; throws after timeoutMs naming `what`. */
export async function waitUntil(what, test, timeoutMs = 10_000, stepMs = 25) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await test()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stops a process by pid: SIGTERM, then SIGKILL after graceMs. Only pids this run started. */
export async function stopPid(pid, graceMs = 3000) {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}
