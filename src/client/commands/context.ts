import type { Command } from 'commander';
import { resolveSocketPath, socketNamed } from '../../rpc/paths.cjs';
import type { AgentClient } from '../agentClient.cjs';
import { autostartAllowed, chosenConfig } from '../commandLine.cjs';
import { connectAgent } from '../connectAgent.cjs';
import { Exit, reportError, type CommandKind } from '../exitCodes.cjs';

interface GlobalOptions {
  socket?: string;
  config?: string;
  autostart: boolean;
}

/** What every command module needs from the CLI: the global options, the agent, and its exit code. */
export class CliContext {
  exitCode: number = Exit.OK;

  constructor(private readonly program: Command, readonly argv: readonly string[]) {}

  private get globals(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  socketPath(): string {
    return resolveSocketPath(this.globals.socket);
  }

  configPath(): string | undefined {
    return chosenConfig(this.globals.config);
  }

  /** A command's action: its body returns the exit code; an error becomes one line on stderr and the code for `kind`. */
  run<A extends unknown[]>(body: (...args: A) => Promise<number>, kind: CommandKind = 'command'): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        this.exitCode = await body(...args);
      } catch (err) {
        this.exitCode = reportError(err, kind);
      }
    };
  }

  /** Runs `use` on a connection to the agent, started first when none answers (unless `autostart` is false or turned off). */
  async withAgent<T>(use: (client: AgentClient) => Promise<T>, autostart = true): Promise<T> {
    const client = await connectAgent({
      socketPath: this.socketPath(),
      named: socketNamed(this.globals.socket),
      configPath: this.configPath(),
      autostart: autostart && autostartAllowed(this.globals.autostart),
    });
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }
}
