import { agentLockPath, agentRunsElsewhere, readAgentLock } from '../../os/agentLockFile.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { AgentClient } from './agentClient.js';

export interface ConnectOptions {
  socketPath: string;
  /** Named by --socket or KMS_AGENT_SOCK (src/os/agentSocket.ts, socketNamed): no other agent is used. */
  named: boolean;
  configPath?: string | undefined;
  /** Start a daemon when none answers (commandLine.ts, autostartAllowed). */
  autostart: boolean;
}

/**
 * Connects to the agent, found or started when none answers on the socket (findOrStartAgent). A
 * socket that fails the safety check is an error, never a reason to look elsewhere or start one.
 */
export async function connectAgent(options: ConnectOptions): Promise<AgentClient> {
  try {
    return await AgentClient.connect(options.socketPath);
  } catch (err) {
    if (!(err instanceof AgentError && err.reason === 'NO_AGENT')) throw err;
    return findOrStartAgent(options, err);
  }
}

/**
 * No agent answers on the socket (`noAgent` says so). On the default socket: the user's agent that
 * the lock file names, when it answers on its own socket (started by a shell whose default differs,
 * one without XDG_RUNTIME_DIR say), after the same checks as any socket. Else a new agent, when
 * autostart is allowed (like gpg-agent). A named socket gets an agent there or none: when the
 * user's agent runs elsewhere, the new one refuses to start, and so does this, naming it.
 */
export async function findOrStartAgent(
  options: ConnectOptions,
  noAgent: AgentError,
): Promise<AgentClient> {
  if (!options.named) {
    const found = await agentOfLock(options.socketPath);
    if (found) return found;
  }
  if (!options.autostart) throw noAgent;
  // Loaded only now: what starts an agent is no part of a call to one that answers.
  const { nothingToServe } = await import('./nothingToServe.js');
  const idle = nothingToServe(options.configPath);
  if (idle) throw idle;
  const { socketPath, configPath } = options;
  const { launchDaemon } = await import('./daemonLauncher.js');
  const outcome = await launchDaemon({ socketPath, configPath });
  if (outcome.state !== 'elsewhere') return AgentClient.connect(socketPath);
  if (options.named) {
    const why = `no agent answers on ${socketPath}, and none may start there`;
    throw new AgentError('AGENT_START_FAILED', `${why}: ${agentRunsElsewhere(outcome)}`);
  }
  // Started at the same moment from another shell: that one won.
  return AgentClient.connect(outcome.socket);
}

/** The agent the lock file names, if it is not on `tried` and answers on its socket. */
async function agentOfLock(tried: string): Promise<AgentClient | undefined> {
  const record = readAgentLock(agentLockPath());
  if (record === undefined || record.socket === tried) return undefined;
  try {
    return await AgentClient.connect(record.socket);
  } catch (err) {
    // An agent that was killed leaves its record (and socket) behind: nothing answers there.
    if (err instanceof AgentError && err.reason === 'NO_AGENT') return undefined;
    throw err;
  }
}
