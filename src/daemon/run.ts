import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/config.js';
import { createLogger, type Logger } from './logger.js';
import { Agent } from './agent.js';
import { keepMemoryOutOfCoreDumps, makeUndumpable } from './coreDumps.js';
import { methodTable } from './methodTable.js';
import type { AgentConfig } from '../config/profile.js';
import { configReloading } from './configReloading.js';
import { SocketServer } from './socketServer.js';
import { takeAgentLock, type AgentLock } from './agentLock.js';
import { agentLockPath } from '../os/agentLockFile.js';
import { resolveConfigPath } from '../config/configPaths.js';
import { VERSION } from '../version.js';

export interface DaemonOptions {
  socketPath: string;
  configPath?: string | undefined;
  /** Detached daemons log here (0600); foreground ones to stderr. */
  logFile?: string | undefined;
  /** The user's agent lock, already taken by the caller (main.ts); else taken here. */
  lock?: AgentLock | undefined;
  /** Called once the socket accepts connections. */
  onReady?: (info: { pid: number; socketPath: string; warnings: string[] }) => void;
}

/**
 * Runs the agent until SIGTERM, SIGINT or agent.shutdown. Throws (before binding anything) when
 * the config is invalid or the socket cannot be used safely: the agent never starts half-configured.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  keepMemoryOutOfCoreDumps();
  // After the filter: once non-dumpable, a process that is not root cannot write it.
  makeUndumpable();
  // Also under socket activation: a unit's agent and a hand-started one must not share a store.
  const mine = { socket: options.socketPath, config: resolveConfigPath(options.configPath) };
  const lock = options.lock ?? (await takeAgentLock(agentLockPath(process.env), mine));
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  let log: Logger | undefined;
  try {
    const load = (): AgentConfig =>
      loadConfig({ configPath: options.configPath, env: process.env });
    const config = load();
    if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
    log = createLogger(config.logLevel, options.logFile);
    await serve(
      options,
      config,
      new Agent(config, options.socketPath, log, load),
      log,
      markStopped,
    );
  } catch (err) {
    lock.release();
    if (log) await destinationOpen(log);
    throw err;
  }
  await stopped;
  lock.release();
}

/** Binds the socket and wires the signals; `markStopped` is called once a shutdown has finished. */
async function serve(
  options: DaemonOptions,
  config: AgentConfig,
  agent: Agent,
  log: Logger,
  markStopped: () => void,
): Promise<void> {
  for (const warning of config.warnings) log.warn(warning);
  const reloading = configReloading(agent, log);
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      reloading.close();
      agent.close();
      await server.close();
      log.info('stopped');
      log.flush();
      markStopped();
    })());
  const server = new SocketServer(
    options.socketPath,
    methodTable(
      agent,
      () => void shutdown(),
      () => reloading.reload('kms-agent reload'),
    ),
    log,
    { via: 'agent', onClose: (connection) => agent.audit.closed(connection) },
  );
  const mode = await server.listen();
  agent.startServing();
  log.info(
    {
      version: VERSION,
      socket: options.socketPath,
      via: mode,
      profiles: [...config.profiles.keys()],
      config: config.configPath,
    },
    'agent started',
  );
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.on('SIGHUP', () => reloading.reloadQuietly('SIGHUP'));
  options.onReady?.({
    pid: process.pid,
    socketPath: options.socketPath,
    warnings: config.warnings,
  });
}

/**
 * Waits until pino's asynchronous log file is open: a process that exits before that (a start that
 * failed just after the logger was made) dies in pino's exit hook, "sonic boom is not ready yet".
 */
function destinationOpen(log: Logger): Promise<void> {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { fd?: number; once?(event: string, fn: () => void): void } | undefined;
  if (typeof stream?.fd !== 'number' || stream.fd >= 0 || !stream.once) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once!('ready', () => resolve());
    stream.once!('error', () => resolve());
  });
}
