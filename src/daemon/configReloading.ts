import type { Agent } from './agent.js';
import { ConfigWatcher } from './configWatcher.js';
import type { Logger } from './logger.js';
import type { Result } from '../rpc/methods.js';

type Reloaded = Result<'agent.reload'>;

/**
 * The config is read again when one of its files changes, on SIGHUP and on `kms-agent reload`
 * (docs/configuration.md). `reload` throws the agent's CONFIG_ERROR for the client that asked;
 * `reloadQuietly` is for the watcher and the signal (Agent.reload has logged the error, and status
 * and the next command that needs the profile show it).
 */
export function configReloading(
  agent: Agent,
  log: Logger,
): { reload(why: string): Reloaded; reloadQuietly(why: string): void; close(): void } {
  const reload = (why: string): Reloaded => {
    try {
      const reloaded = agent.reload();
      log.info({ why, profiles: reloaded.profiles }, 'config reloaded');
      return reloaded;
    } finally {
      watcher.watch(agent.config.files);
    }
  };
  const reloadQuietly = (why: string): void => {
    try {
      reload(why);
    } catch {
      // reported by Agent.reload
    }
  };
  const watcher = new ConfigWatcher(() => reloadQuietly('file change'));
  watcher.watch(agent.config.files);
  return { reload, reloadQuietly, close: () => watcher.close() };
}
