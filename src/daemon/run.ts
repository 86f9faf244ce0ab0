import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { Agent } from './agent.js';
import { ConfigWatcher } from './configWatcher.js';
import { keepMemoryOutOfCoreDumps } from './coreDumps.js';
import type { AgentConfig } from './profile.js';
import { methodTable } from './methodTable.js';
import { SocketServer } from './socketServer.js';
import { VERSION } from './version.js';

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
  keepMemoryOutOfCoreDumps();
  const load = (): AgentConfig => loadConfig({ configPath: options.configPath, env: process.env });
  const config = load();
  if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
  const log = createLogger(config.logLevel, options.logFile);
  for (const warning of config.warnings) log.warn(warning);

  const agent = new Agent(config, options.socketPath, log, load);
  // The config is read again when a file changes, on SIGHUP and on `kms-agent reload`.
  const reload = (why: string): string[] => {
    try {
      const profiles = agent.reload();
      log.info({ why, profiles }, 'config reloaded');
      return profiles;
    } finally {
      watcher.watch(agent.config.files);
    }
  };
  // agent.reload logs a failure; status and the next command that needs the profile show it.
  const reloadQuietly = (why: string): void => void ignoreError(() => reload(why));
  const watcher = new ConfigWatcher(() => reloadQuietly('file change'));
  watcher.watch(config.files);
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      watcher.close();
      agent.close();
      await server.close();
      log.info('stopped');
      log.flush();
      markStopped();
    })());
  const server = new SocketServer(options.socketPath, methodTable(agent, () => void shutdown(), () => reload('kms-agent reload')), log);
  const mode = await server.listen();
  agent.startServing();
  log.info(
    { version: VERSION, socket: options.socketPath, via: mode, profiles: [...config.profiles.keys()], config: config.configPath },
    'agent started',
  );
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.on('SIGHUP', () => reloadQuietly('SIGHUP'));
  options.onReady?.({ pid: process.pid, socketPath: options.socketPath, warnings: config.warnings });
  await stopped;
}

function ignoreError(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // reported where it happened
  }
}
