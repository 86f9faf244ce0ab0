import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { AgentClient } from '../../fast/agentClient.js';
import { launchDaemon } from '../../fast/daemonLauncher.js';
import type { LocalProvider } from '../../../demo/localProvider.js';

/**
 * What the demo makes and must take down again: a temporary directory, a private agent (maybe
 * two, one after the other) and the local provider. Ctrl-C at any moment removes all of it.
 */
export class DemoRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'kms-agent-demo-'));
  readonly socketPath = join(this.dir, 'run', 'agent.sock');
  readonly configPath = join(this.dir, 'config.toml');
  readonly env = { ...process.env, XDG_STATE_HOME: join(this.dir, 'state') };
  interrupted = false;
  client: AgentClient | undefined;
  providerStarting: Promise<LocalProvider> | undefined;
  private launching: Promise<unknown> | undefined;
  private cleaning: Promise<void> | undefined;
  private readonly onInterrupt = (): void => {
    this.interrupted = true;
    process.stdout.write(
      '\nInterrupted: stopping the demo agent and provider, removing the temporary files.\n',
    );
    void this.cleanup().then(() => process.exit(130));
  };

  constructor() {
    process.once('SIGINT', this.onInterrupt);
    process.once('SIGTERM', this.onInterrupt);
  }

  /** Starts an agent unless Ctrl-C came first; cleanup() waits for a start in progress, so none outlives the demo. */
  launch(): ReturnType<typeof launchDaemon> {
    if (this.interrupted) throw new Error('interrupted');
    const started = launchDaemon({
      socketPath: this.socketPath,
      configPath: this.configPath,
      env: this.env,
    });
    this.launching = started;
    return started;
  }

  async connect(): Promise<AgentClient> {
    this.client = await AgentClient.connect(this.socketPath);
    return this.client;
  }

  /** Stops the agent through the protocol and waits for its socket to go. */
  async stopAgent(client: AgentClient): Promise<void> {
    await client.call('agent.shutdown', {}, 2000);
    client.close();
    for (let i = 0; i < 100 && existsSync(this.socketPath); i++) await delay(20);
  }

  cleanup(): Promise<void> {
    return (this.cleaning ??= (async () => {
      process.off('SIGINT', this.onInterrupt);
      process.off('SIGTERM', this.onInterrupt);
      this.client?.close();
      await this.launching?.catch(() => undefined);
      try {
        await this.stopAgent(await AgentClient.connect(this.socketPath, 500));
      } catch {
        // No agent left to stop.
      }
      await (await this.providerStarting?.catch(() => undefined))?.close();
      rmSync(this.dir, { recursive: true, force: true });
    })());
  }
}
