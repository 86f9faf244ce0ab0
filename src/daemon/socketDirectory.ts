import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { checkSocketPathLength, socketDirectoryProblem } from '../os/agentSocket.js';
import { AgentError } from '../rpc/jsonRpc.js';

export class AgentAlreadyRunningError extends Error {
  constructor(readonly socketPath: string) {
    super(`an agent is already running on ${socketPath}`);
    this.name = 'AgentAlreadyRunningError';
  }
}

/**
 * Creates the directory 0700 if missing, then checks it as every client does (src/os/agentSocket.ts):
 * a real directory, ours, not writable by others. Throws an AgentError (INSECURE_SOCKET) saying why.
 */
export function ensureSocketDirectory(socketPath: string): void {
  checkSocketPathLength(socketPath);
  const dir = dirname(socketPath);
  let created = false;
  if (lstatSync(dir, { throwIfNoEntry: false }) === undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  const problem = socketDirectoryProblem(dir);
  // Missing again already (removed meanwhile): binding there fails with what happened.
  if (problem instanceof AgentError) throw problem;
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
