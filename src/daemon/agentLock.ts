import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  agentRunsElsewhere,
  formatAgentLock,
  LOCK_FILE,
  readAgentLock,
  type AgentLockRecord,
} from '../os/agentLockFile.js';
import { distrust, distrustOf } from '../os/fileSafety.js';
import { processAlive } from '../os/processAlive.js';
import { flock, LOCK_EX, LOCK_NB } from '../os/libc.js';
import { AgentAlreadyRunningError, socketAnswers } from './socketDirectory.js';

/** A starting agent waits this long for the lock's holder to answer on its socket. */
const WAIT_MS = 12_000;
const POLL_MS = 20;

/** Another agent holds the lock of this state directory, on another socket. */
export class AgentRunningElsewhereError extends Error {
  constructor(readonly holder: AgentLockRecord) {
    super(agentRunsElsewhere(holder));
    this.name = 'AgentRunningElsewhereError';
  }
}

export interface AgentLock {
  release(): void;
}

/**
 * Makes this process the user's one agent: an exclusive flock(2) on `lockPath` (0600, in a 0700
 * directory), held while the agent lives, so the kernel drops it when the agent dies however it
 * dies (no stale lock to break), and a record of our pid, socket and config in it. When another
 * process holds it, waits until that agent answers on its socket (many clients may autostart at
 * once), then throws AgentAlreadyRunningError (our socket: the caller reports "running") or
 * AgentRunningElsewhereError (another one). Runs before anything heavy, so losing costs little.
 */
export async function takeAgentLock(
  lockPath: string,
  mine: Omit<AgentLockRecord, 'pid'>,
): Promise<AgentLock> {
  const fd = openLockFile(lockPath);
  try {
    const deadline = Date.now() + WAIT_MS;
    while (!tryLock(fd)) {
      const holder = readAgentLock(lockPath);
      // Until its holder has written it, the file is empty or names the agent before it.
      const live = holder !== undefined && holder.pid !== process.pid && processAlive(holder.pid);
      if (live && (await socketAnswers(holder.socket))) throw runningError(holder, mine.socket);
      if (Date.now() > deadline) {
        if (live) throw runningError(holder, mine.socket);
        throw new Error(
          `another process holds ${lockPath} and no agent it names answers: ` +
            `if no kms-agent runs, find what holds it with \`fuser ${lockPath}\``,
        );
      }
      await delay(POLL_MS);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, formatAgentLock({ pid: process.pid, ...mine }), 0);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return {
    // Emptied first: a client that reads it after we stop finds nothing, rather than a dead pid.
    release: () => {
      ftruncateSync(fd, 0);
      closeSync(fd);
    },
  };
}

function runningError(holder: AgentLockRecord, socket: string): Error {
  if (holder.socket === socket) return new AgentAlreadyRunningError(socket);
  return new AgentRunningElsewhereError(holder);
}

function tryLock(fd: number): boolean {
  try {
    flock(fd, LOCK_EX | LOCK_NB);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
    throw err;
  }
}

/**
 * Opens (creating) the lock file in its 0700 directory: a directory or file of another user, a
 * directory others can write to, or a symbolic link in place of the file is refused.
 */
function openLockFile(lockPath: string): number {
  const dir = dirname(lockPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (distrust(dir, { type: 'directory' })) {
    throw new Error(
      `refusing the state directory ${dir}: it must be a directory of yours ` +
        `that only you can write to; run \`chmod 700 ${dir}\``,
    );
  }
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
    throw new Error(`refusing ${lockPath}: it is a symbolic link; remove it`);
  }
  const problem = distrustOf(fstatSync(fd), { ...LOCK_FILE, ownerOnly: true });
  if (problem?.kind === 'mode') {
    fchmodSync(fd, 0o600);
  } else if (problem) {
    closeSync(fd);
    throw new Error(`refusing ${lockPath}: it is not a file of yours; remove it`);
  }
  return fd;
}
