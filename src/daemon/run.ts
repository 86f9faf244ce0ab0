import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { Agent } from './agent.js';
import { methodTable } from './methodTable.js';
import { isSocketActivated, SocketServer } from './socketServer.js';
import { claimSocketPath, type SocketClaim } from './startLock.js';
import { VERSION } from '../rpc/version.js';

export interface DaemonOptions {
  socketPath: string;
  configPath?: string | undefined;
  /** Detached daemons log here (0600); foreground ones to stderr. */
  logFile?: string | undefined;
  /** The socket path, already claimed by the caller (main.ts); else claimed here, unless systemd passed the socket. */
  claim?: SocketClaim | undefined;
  /** Called once the socket accepts connections. */
  onReady?: (info: { pid: number; socketPath: string; warnings: string[] }) => void;
}

/**
 * Runs the agent until SIGTERM, SIGINT or agent.shutdown. Throws (before binding anything) when
 * the config is invalid or the socket cannot be used safely: the agent never starts half-configured.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const claim = options.claim ?? (isSocketActivated(process.env) ? undefined : await claimSocketPath(options.socketPath));
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  let log: Logger | undefined;
  try {
    const config = loadConfig({ configPath: options.configPath, env: process.env });
    if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
    const logger = (log = createLogger(config.logLevel, options.logFile));
    for (const warning of config.warnings) logger.warn(warning);
    const agent = new Agent(config, options.socketPath, logger);
    const shutdown = (): Promise<void> =>
      (stopping ??= (async () => {
        logger.info('shutting down');
        agent.close();
        await server.close();
        logger.info('stopped');
        logger.flush();
        markStopped();
      })());
    const server = new SocketServer(options.socketPath, methodTable(agent, () => void shutdown()), logger);
    const mode = await server.listen();
    logger.info({ version: VERSION, socket: options.socketPath, via: mode, profiles: [...config.profiles.keys()], config: config.configPath }, 'agent started');
    process.once('SIGTERM', () => void shutdown());
    process.once('SIGINT', () => void shutdown());
    process.on('SIGHUP', () => logger.info('SIGHUP ignored: restart the agent to reload its config'));
    options.onReady?.({ pid: process.pid, socketPath: options.socketPath, warnings: config.warnings });
  } catch (err) {
    if (log) await destinationOpen(log);
    throw err;
  } finally {
    claim?.release();
  }
  await stopped;
}

/**
 * Waits until pino's asynchronous log file is open: a process that exits before that (a start that
 * failed just after the logger was made) dies in pino's exit hook, "sonic boom is not ready yet".
 */
function destinationOpen(log: Logger): Promise<void> {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { fd?: number; once?(event: string, fn: () => void): void } | undefined;
  if (typeof stream?.fd !== 'number' || stream.fd >= 0 || !stream.once) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once!('ready', () => resolve());
    stream.once!('error', () => resolve());
  });
}
