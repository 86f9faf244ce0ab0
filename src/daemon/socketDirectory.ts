import { lstatSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';

/** The socket's directory is refused when it could let another user in; the message says why and what to do. */
export class InsecureSocketDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InsecureSocketDirError';
  }
}

export class AgentAlreadyRunningError extends Error {
  constructor(readonly socketPath: string) {
    super(`an agent is already running on ${socketPath}`);
    this.name = 'AgentAlreadyRunningError';
  }
}

/** Creates the directory 0700 if missing, then checks it: a real directory, ours, not writable by others. */
export function ensureSocketDirectory(socketPath: string): void {
  const dir = dirname(socketPath);
  let created = false;
  try {
    lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) {
    throw new InsecureSocketDirError(`refusing socket directory ${dir}: it is a symbolic link; use a real directory that only you own`);
  }
  if (!stat.isDirectory()) throw new InsecureSocketDirError(`refusing socket directory ${dir}: it is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new InsecureSocketDirError(
      `refusing socket directory ${dir}: it is owned by uid ${stat.uid}, not you (uid ${uid}); another user could replace the socket`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new InsecureSocketDirError(
      `refusing socket directory ${dir}: group or others can write to it (mode ${(stat.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\``,
    );
  }
  if (created) chmodSync(dir, 0o700);
}

/** True when something answers on the socket; a refused or missing socket is stale. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (alive: boolean): void => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
