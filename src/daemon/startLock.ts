import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { processAlive } from '../rpc/processAlive.js';
import { AgentAlreadyRunningError, ensureSocketDirectory, socketAnswers } from './socketDirectory.js';

/** A starting daemon waits this long for another one that holds the lock. */
const WAIT_MS = 12_000;
const POLL_MS = 20;
/** A lock this old is stale whoever holds it: its pid may belong to another process by now. */
const STALE_MS = 30_000;
/** A lock without a pid yet is its holder's, between creating and writing it, for at most this long. */
const UNWRITTEN_MS = 2_000;

export interface SocketClaim {
  release(): void;
}

/**
 * Makes this process the only one starting an agent on `socketPath` (many clients autostarting at
 * once each launch one): an O_EXCL lock file next to the socket, holding our pid, taken before the
 * check for a running agent and kept until we listen. So only one starter ever checks, replaces a
 * stale socket and binds; the others wait, then find it answering and exit (AgentAlreadyRunningError).
 * A lock whose holder died is broken. Run before anything heavy is loaded, so losing costs little.
 */
export async function claimSocketPath(socketPath: string): Promise<SocketClaim> {
  ensureSocketDirectory(socketPath);
  const lockPath = `${socketPath}.lock`;
  const deadline = Date.now() + WAIT_MS;
  let ino: number | undefined;
  while ((ino = tryLock(lockPath)) === undefined) {
    if (Date.now() > deadline) {
      throw new Error(`another agent has been starting on ${socketPath} for over ${WAIT_MS / 1000} s (lock ${lockPath}); if none is, remove that file`);
    }
    if (!breakIfStale(lockPath)) await delay(POLL_MS);
  }
  const held = ino;
  const claim: SocketClaim = { release: () => releaseLock(lockPath, held) };
  try {
    if (await socketAnswers(socketPath)) throw new AgentAlreadyRunningError(socketPath);
  } catch (err) {
    claim.release();
    throw err;
  }
  return claim;
}

/** Creates the lock with our pid in it; its inode, or undefined when someone else holds it. */
function tryLock(lockPath: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the lock when its holder is dead (or it is too old); true when the caller should try again
 * at once. Several waiters may judge the same lock stale: each renames it aside first, so only one
 * moves it; one that moved a fresh lock instead (taken after another waiter broke the stale one)
 * puts it back.
 */
function breakIfStale(lockPath: string): boolean {
  let judged;
  let pid: number;
  try {
    judged = statSync(lockPath);
    pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
  } catch {
    return true; // released meanwhile
  }
  const age = Date.now() - judged.mtimeMs;
  const holderGone = Number.isInteger(pid) && pid > 0 ? !processAlive(pid) : age > UNWRITTEN_MS;
  if (!holderGone && age < STALE_MS) return false;
  const aside = `${lockPath}.${process.pid}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return true;
  }
  if (statSync(aside).ino !== judged.ino) {
    try {
      linkSync(aside, lockPath);
    } catch {
      // A third starter holds the name now; the one whose lock this was finds it gone at release.
    }
  }
  unlinkSync(aside);
  return true;
}

function releaseLock(lockPath: string, ino: number): void {
  try {
    if (statSync(lockPath).ino === ino) unlinkSync(lockPath);
  } catch {
    // Already gone: broken as stale.
  }
}
