import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { Agent } from './agent.js';
import { methodTable } from './methodTable.js';
import { SocketServer } from './socketServer.js';
import { VERSION } from '../rpc/version.js';

export interface DaemonOptions {
  socketPath: string;
  configPath?: string | undefined;
  /** Detached daemons log here (0600); foreground ones to stderr. */
  logFile?: string | undefined;
  /** Called once the socket accepts connections. */
  onReady?: (info: { pid: number; socketPath: string; warnings: string[] }) => void;
}

/**
 * Runs the agent until SIGTERM, SIGINT or agent.shutdown. Throws (before binding anything) when
 * the config is invalid or the socket cannot be used safely: the agent never starts half-configured.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const config = loadConfig({ configPath: options.configPath, env: process.env });
  if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
  const log = createLogger(config.logLevel, options.logFile);
  for (const warning of config.warnings) log.warn(warning);

  const agent = new Agent(config, options.socketPath, log);
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      agent.close();
      await server.close();
      log.info('stopped');
      log.flush();
      markStopped();
    })());
  const server = new SocketServer(options.socketPath, methodTable(agent, () => void shutdown()), log);
  const mode = await server.listen();
  log.info(
    { version: VERSION, socket: options.socketPath, via: mode, profiles: [...config.profiles.keys()], config: config.configPath },
    'agent started',
  );
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.on('SIGHUP', () => log.info('SIGHUP ignored: restart the agent to reload its config'));
  options.onReady?.({ pid: process.pid, socketPath: options.socketPath, warnings: config.warnings });
  await stopped;
}
