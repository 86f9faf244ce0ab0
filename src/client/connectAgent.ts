import { AgentClient, NoAgentError } from './agentClient.js';

export interface ConnectOptions {
  socketPath: string;
  configPath?: string | undefined;
  /** Start a daemon when none answers (like gpg-agent), unless --no-autostart / KMS_AGENT_NO_AUTOSTART=1. */
  autostart: boolean;
}

export function autostartAllowed(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  return !(env.KMS_AGENT_NO_AUTOSTART && env.KMS_AGENT_NO_AUTOSTART !== '0');
}

/** Connects to the agent, starting one first when none answers and autostart is allowed. */
export async function connectAgent(options: ConnectOptions): Promise<AgentClient> {
  try {
    return await AgentClient.connect(options.socketPath);
  } catch (err) {
    if (!(err instanceof NoAgentError) || !options.autostart) throw err;
  }
  const { launchDaemon } = await import('./daemonLauncher.js');
  await launchDaemon({ socketPath: options.socketPath, configPath: options.configPath });
  return AgentClient.connect(options.socketPath);
}
