import { AgentError } from '../rpc/jsonRpc.cjs';
import { AgentClient } from './agentClient.cjs';

export interface ConnectOptions {
  socketPath: string;
  configPath?: string | undefined;
  /** Start a daemon when none answers (commandLine.cts, autostartAllowed). */
  autostart: boolean;
}

/**
 * Connects to the agent, starting one first when none answers and autostart is allowed (like
 * gpg-agent). A socket that fails the safety check is an error, never a reason to start one.
 */
export async function connectAgent(options: ConnectOptions): Promise<AgentClient> {
  try {
    return await AgentClient.connect(options.socketPath);
  } catch (err) {
    if (!(err instanceof AgentError && err.reason === 'NO_AGENT') || !options.autostart) throw err;
  }
  type Check = typeof import('./nothingToServe.cjs');
  const { nothingToServe } = require('./nothingToServe.cjs') as Check;
  const idle = nothingToServe(options.configPath);
  if (idle) throw idle;
  const { launchDaemon } = require('./daemonLauncher.cjs') as typeof import('./daemonLauncher.cjs');
  await launchDaemon({ socketPath: options.socketPath, configPath: options.configPath });
  return AgentClient.connect(options.socketPath);
}
