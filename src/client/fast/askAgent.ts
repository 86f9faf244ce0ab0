/**
 * One call to the agent from a fast command (`kms-agent token`, the credential helpers, `start`):
 * node:net and a few small files of ours, in one bundle, and no promise while an agent answers
 * (bench/RESULTS.md has what each of those cost). When none does, the same client finds the user's
 * agent or starts one (connectAgent.ts, loaded only then), or says how to.
 */
import { resolveSocketPath, socketNamed } from '../../os/agentSocket.js';
import type { AgentError } from '../../rpc/jsonRpc.js';
import type { MethodName, Params, Result, TokenReply } from '../../rpc/methods.js';
import { AgentClient } from './agentClient.js';
import {
  autostartAllowed,
  chosenConfig,
  parseCommandLine,
  type AgentRoute,
  type FastCommand,
} from './commandLine.js';
import { fail, OK } from './output.js';
import { tokenOptions, type TokenOptions } from './tokenRequest.js';

/** Provider calls are bounded in the daemon; this only guards against a wedged agent. */
export const TOKEN_TIMEOUT_MS = 60_000;

/** The reply, or the error; `via` is the socket of the agent that answered. */
export type Answer<M extends MethodName> = (err: unknown, result?: Result<M>, via?: string) => void;

/**
 * One call to the agent, through one connection. When none answers on the socket, the agent is
 * found or started (connectAgent.ts, loaded only then) and asked through the same client.
 */
export function askAgent<M extends MethodName>(
  route: AgentRoute,
  method: M,
  params: Params<M>,
  answer: Answer<M>,
): void {
  let client: AgentClient;
  try {
    client = AgentClient.open(resolveSocketPath(route.socket));
  } catch (err) {
    const failed = err as AgentError;
    if (failed.reason !== 'NO_AGENT') return answer(err);
    return findAgentThenAsk(route, method, params, failed, answer);
  }
  client.request(
    method,
    params,
    (err, result) => {
      client.close();
      if (err?.reason === 'NO_AGENT') return findAgentThenAsk(route, method, params, err, answer);
      answer(err, result, client.socketPath);
    },
    TOKEN_TIMEOUT_MS,
  );
}

/**
 * No agent answered on the socket: the user's agent elsewhere, or a new one (unless told not to),
 * asked through the same client.
 */
function findAgentThenAsk<M extends MethodName>(
  route: AgentRoute,
  method: M,
  params: Params<M>,
  noAgent: AgentError,
  answer: Answer<M>,
): void {
  const options = {
    socketPath: resolveSocketPath(route.socket),
    named: socketNamed(route.socket),
    configPath: chosenConfig(route.config),
    autostart: autostartAllowed(route.autostart),
  };
  import('./connectAgent.js')
    .then(({ findOrStartAgent }) => findOrStartAgent(options, noAgent))
    .then(
      (client) =>
        client.request(
          method,
          params,
          (err, result) => {
            client.close();
            answer(err, result, client.socketPath);
          },
          TOKEN_TIMEOUT_MS,
        ),
      (err: unknown) => answer(err),
    );
}

/**
 * A fast command that prints one token its own way (`token`, `kubectl-credential`): its line
 * parsed, the token asked for, `print` given the reply; an error is one line on stderr and the
 * exit code of docs/cli.md. `done` gets the exit code.
 */
export function askForToken(
  args: readonly string[],
  command: FastCommand,
  done: (exitCode: number) => void,
  print: (reply: TokenReply, options: TokenOptions) => void,
): void {
  let options: TokenOptions;
  try {
    options = tokenOptions(parseCommandLine(args, command).values);
  } catch (err) {
    return done(fail(err));
  }
  askAgent(options, 'token.get', options.params, (err, reply) => {
    if (err !== undefined) return done(fail(err));
    print(reply!, options);
    done(OK);
  });
}
