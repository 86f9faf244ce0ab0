/**
 * `kms-agent start`: the agent that answers, else a new one (src/client/fast/daemonLauncher.ts),
 * printed as the shell exports `eval "$(kms-agent start)"` runs, as ssh-agent prints them. Every new
 * shell may run it, so it is a fast command (src/client/fastCommands.ts): no commander, no ES
 * module. `start --foreground` makes this process the agent (service managers run it): the one
 * place the client loads the daemon (src/daemon/loadDaemon.ts).
 */
import { agentRunsElsewhere } from '../../../os/agentLockFile.js';
import { resolveSocketPath, socketNamed } from '../../../os/agentSocket.js';
import { AgentError } from '../../../rpc/jsonRpc.js';
import type { Result } from '../../../rpc/methods.js';
import { askAgent } from '../../fast/askAgent.js';
import {
  agentRoute,
  chosenConfig,
  configToCheck,
  parseCommandLine,
  type AgentRoute,
  type FastCommand,
  type FlagSpec,
} from '../../fast/commandLine.js';
import { fail, OK, print } from '../../fast/output.js';
import { detectShell, shellExports, SHELL_FLAGS, type ShellSyntax } from './shellExports.js';

/** How to print the exports, or to become the agent itself (service managers). */
const START_FLAGS = {
  foreground: {
    flags: '-f, --foreground',
    description: 'stay in the foreground and log to stderr (for service managers)',
  },
  ...SHELL_FLAGS,
} satisfies Record<string, FlagSpec>;

export const startCommand: FastCommand = {
  name: 'start',
  description:
    'start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"',
  flags: START_FLAGS,
  run: runStart,
};

interface StartRequest {
  route: AgentRoute;
  socketPath: string;
  configPath: string | undefined;
  /** The named config, links resolved, for a running agent to compare with its own. */
  configCheck: string | undefined;
  syntax: ShellSyntax;
}

/** Runs `start`; `done` gets the exit code (for --foreground, once the agent has stopped). */
function runStart(args: readonly string[], done: (exitCode: number) => void): void {
  let request: StartRequest;
  try {
    const { values } = parseCommandLine(args, startCommand);
    const route = { ...agentRoute(values), autostart: false };
    const configCheck = configToCheck(route);
    request = {
      route,
      socketPath: resolveSocketPath(route.socket),
      configPath: chosenConfig(route.config),
      configCheck,
      syntax: detectShell(values),
    };
    if (values.foreground) {
      const { socketPath, configPath } = request;
      import('../../../daemon/loadDaemon.js')
        .then(({ loadDaemon }) => loadDaemon().runDaemon({ socketPath, configPath }))
        .then(
          () => done(OK),
          (err: unknown) => done(fail(err, 'start')),
        );
      return;
    }
  } catch (err) {
    return done(fail(err, 'start'));
  }
  // An agent that answers, here or (on the default socket) where the user's agent lock names one.
  askRunningAgent(request, done, (noAgent) => {
    if (noAgent.reason !== 'NO_AGENT') return done(fail(noAgent, 'start'));
    // Started: it reports its pid. Another start won the race: ask the winner, which may read another config.
    const { socketPath, configPath } = request;
    import('../../fast/daemonLauncher.js')
      .then(({ launchDaemon }) => launchDaemon({ socketPath, configPath }))
      .then(
        (outcome) => {
          if (outcome.state === 'started') {
            print(shellExports(request.syntax, request.socketPath, outcome.pid));
            return done(OK);
          }
          if (outcome.state === 'elsewhere' && socketNamed(request.route.socket)) {
            const why = `cannot start an agent on ${request.socketPath}: ${agentRunsElsewhere(outcome)}`;
            const refused = new AgentError('AGENT_START_FAILED', why);
            return done(fail(refused, 'start'));
          }
          askRunningAgent(request, done, (err) => done(fail(err, 'start')));
        },
        (err: unknown) => done(fail(err, 'start')),
      );
  });
}

/**
 * Asks the agent that answers which config it reads, and prints the exports; `otherwise` gets the
 * error when none answers. The running agent keeps its own config: a --config it does not read is
 * an error.
 */
function askRunningAgent(
  request: StartRequest,
  done: (exitCode: number) => void,
  otherwise: (err: AgentError) => void,
): void {
  const params = request.configCheck === undefined ? {} : { config: request.configCheck };
  askAgent(request.route, 'agent.config', params, (err, agent?: Result<'agent.config'>, via?) => {
    if (err !== undefined) return otherwise(err as AgentError);
    const mismatch = agent!.mismatch;
    if (mismatch) return done(fail(new AgentError('CONFIG_ERROR', mismatch), 'start'));
    if (agent!.warning) process.stderr.write(`kms-agent: warning: ${agent!.warning}\n`);
    print(shellExports(request.syntax, via!, agent!.pid));
    done(OK);
  });
}
