/**
 * The lock file of the user's agent, `$XDG_STATE_HOME/kms-agent/agent.lock` (docs/architecture.md,
 * "One agent per user"): the running agent holds a flock(2) on it (src/daemon/agentLock.ts) and
 * writes there, as one line of JSON, its pid, its socket and the config file it reads. A client
 * that finds no agent on the default socket reads it to find the user's agent elsewhere.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { distrust, type TrustRule } from './fileSafety.js';
import { resolveStateDir } from './xdgPaths.js';

export interface AgentLockRecord {
  pid: number;
  socket: string;
  config: string;
}

/** A file of this user's that nobody else can write (the agent keeps it 0600). */
export const LOCK_FILE: TrustRule = { type: 'file' };

export function agentLockPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolveStateDir(env), 'agent.lock');
}

export function formatAgentLock(record: AgentLockRecord): string {
  return `${JSON.stringify({ pid: record.pid, socket: record.socket, config: record.config })}\n`;
}

/**
 * What the lock file says, or undefined when it says nothing usable: no file, empty (no agent
 * holds it, or its holder is writing it), not ours, or not a record. Whether the agent it names is
 * alive is for the caller to find out (its socket answers, or its pid exists).
 */
export function readAgentLock(path: string): AgentLockRecord | undefined {
  try {
    if (distrust(path, LOCK_FILE)) return undefined;
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<AgentLockRecord> | null;
    const { pid, socket, config } = record ?? {};
    if (!Number.isInteger(pid) || pid! <= 0) return undefined;
    if (!absolute(socket) || !absolute(config)) return undefined;
    return { pid: pid!, socket, config };
  } catch {
    return undefined;
  }
}

function absolute(value: unknown): value is string {
  return typeof value === 'string' && isAbsolute(value);
}

/** What a second agent, or a client told to use another socket, says of the running agent. */
export function agentRunsElsewhere(record: Pick<AgentLockRecord, 'pid' | 'socket'>): string {
  const { pid, socket } = record;
  return (
    `another agent (pid ${pid}) already runs for this user, on ${socket}: ` +
    `set KMS_AGENT_SOCK=${socket} or stop it (\`kms-agent --socket ${socket} stop\`)`
  );
}
