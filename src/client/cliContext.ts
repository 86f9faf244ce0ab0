import type { Command } from 'commander';
import { resolveSocketPath, socketNamed } from '../os/agentSocket.js';
import type { AgentClient } from './fast/agentClient.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { Result } from '../rpc/methods.js';
import { autostartAllowed, chosenConfig, configToCheck } from './fast/commandLine.js';
import { connectAgent } from './fast/connectAgent.js';
import { Exit, reportError, type CommandKind } from './fast/exitCodes.js';

interface GlobalOptions {
  socket?: string;
  config?: string;
  autostart: boolean;
}

/** What every command module needs from the CLI: the global options, the agent, and its exit code. */
export class CliContext {
  exitCode: number = Exit.OK;

  constructor(
    private readonly program: Command,
    readonly argv: readonly string[],
  ) {}

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
  run<A extends unknown[]>(
    body: (...args: A) => Promise<number>,
    kind: CommandKind = 'command',
  ): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        this.exitCode = await body(...args);
      } catch (err) {
        this.exitCode = reportError(err, kind);
      }
    };
  }

  /**
   * Runs `use` on a connection to the agent, started first when none answers (unless `autostart` is
   * false or turned off). First the config check (docs/configuration.md): a named config file must
   * exist; one the running agent does not read is an error (`otherConfig: 'warn'`: a warning), and
   * a reload that failed is said once on stderr.
   */
  async withAgent<T>(
    use: (client: AgentClient) => Promise<T>,
    options: AgentOptions = {},
  ): Promise<T> {
    const config = configToCheck({ config: this.globals.config });
    const socket = 'socket' in options ? options.socket : this.globals.socket;
    const client = await connectAgent({
      socketPath: resolveSocketPath(socket),
      named: socketNamed(socket),
      configPath: this.configPath(),
      autostart: (options.autostart ?? true) && autostartAllowed(this.globals.autostart),
    });
    try {
      const agent: Partial<Result<'agent.config'>> = await client
        .call('agent.config', config === undefined ? {} : { config })
        .catch((err: unknown) => {
          if (!refused(err)) throw err;
          // A locked agent, or a delegated socket: no config to compare, the command goes on.
          if (options.whenRefused === 'continue') return {};
          throw delegatedSocket(err, client.socketPath);
        });
      const otherConfig = options.otherConfig ?? 'fail';
      if (agent.mismatch && otherConfig === 'fail') {
        throw new AgentError('CONFIG_ERROR', agent.mismatch);
      }
      if (agent.mismatch && otherConfig === 'warn') warn(agent.mismatch);
      if (agent.warning && options.sayConfigError !== false) warn(agent.warning);
      return await use(client);
    } finally {
      client.close();
    }
  }
}

/** The agent's policy refused the check (exit 7): locked, or a delegated socket. */
function refused(err: unknown): boolean {
  return err instanceof AgentError && (err.reason === 'LOCKED' || err.reason === 'FORBIDDEN');
}

/** A command that needs more than tokens, pointed at a delegated socket: said in those words. */
function delegatedSocket(err: unknown, socketPath: string): unknown {
  if (!(err instanceof AgentError) || err.reason !== 'FORBIDDEN') return err;
  return new AgentError(
    'FORBIDDEN',
    `${socketPath} is a delegated socket: it serves only tokens (\`kms-agent token\`, ` +
      "`exec`, `whoami`, `kubectl-credential`); this command needs the agent's own socket",
  );
}

function warn(text: string): void {
  process.stderr.write(`kms-agent: warning: ${text}\n`);
}

export interface AgentOptions {
  /** Start an agent when none answers (default true). */
  autostart?: boolean;
  /**
   * A running agent that reads another config than the one named: an error (default), a warning,
   * or the caller's to say.
   */
  otherConfig?: 'fail' | 'warn' | 'ignore';
  /** Say a reload's config error (default true; `reload` says it as its own result). */
  sayConfigError?: boolean;
  /**
   * A locked agent or a delegated socket refuses the config check: 'fail' (default) with exit 7,
   * or 'continue' for the commands that work there (`status`, `stop`, `unlock`; `exec` and
   * `whoami`, which ask only for tokens).
   */
  whenRefused?: 'fail' | 'continue';
  /**
   * The agent's socket, in place of the global --socket, even when undefined (the default):
   * `delegate` has a --socket of its own, which commander takes for the global one.
   */
  socket?: string | undefined;
}
