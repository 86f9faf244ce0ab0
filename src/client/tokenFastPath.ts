/**
 * `kms-agent token`, the command scripts run over and over, on every route: node:net and a few
 * small files of ours, in one bundle — no ES module loader, no commander, no promises while an agent
 * answers (bench/RESULTS.md has what each of those cost). When none does, the same client starts
 * one (connectAgent.ts, loaded only then) or says how to. The credential helpers kubectl and git
 * run (kubectlCredential.ts, gitCredential.ts) ask the agent through askAgent here, on the same path.
 */
import { writeSync } from 'node:fs';
import type { AgentError } from '../rpc/jsonRpc.js';
import type { MethodName, Params, Result, TokenReply } from '../rpc/methods.js';
import { resolveSocketPath, socketNamed } from '../rpc/paths.js';
import { AgentClient } from './agentClient.js';
import { Exit, reportError, type CommandKind } from './exitCodes.js';
import { autostartAllowed, chosenConfig, parseTokenCommandLine, type TokenOptions } from './commandLine.js';

export const OK = Exit.OK;

/** The error's line on stderr, and its exit code for this kind of command. */
export function fail(err: unknown, kind?: CommandKind): number {
  return reportError(err, kind);
}

/** Provider calls are bounded in the daemon; this only guards against a wedged agent. */
export const TOKEN_TIMEOUT_MS = 60_000;

export function formatToken(reply: TokenReply, output: TokenOptions['output']): string {
  if (output === 'json') return JSON.stringify(reply) + '\n';
  if (output === 'header') return `Authorization: ${reply.token_type} ${reply.token}\n`;
  return reply.token + '\n';
}

/**
 * What the user should know although a token was printed, one line each on stderr: a config edit
 * the agent could not load, a scope the provider changed (some ignore a narrower one), a
 * --min-valid the provider's tokens cannot meet.
 */
function sayNotices(options: TokenOptions, reply: TokenReply): void {
  const { scope, min_valid: minValid } = options.params;
  if (reply.warning) process.stderr.write(`kms-agent: warning: ${reply.warning}\n`);
  if (scope !== undefined && reply.scope !== undefined && !sameScopes(scope, reply.scope)) {
    process.stderr.write(`kms-agent: the provider granted the scope "${reply.scope}", not the "${scope}" asked for\n`);
  }
  const left = Math.floor(reply.expires_at - Date.now() / 1000);
  if (minValid !== undefined && left < minValid) {
    process.stderr.write(
      `kms-agent: this token is valid for ${left} s, less than the ${minValid} s --min-valid asked for: the provider issues shorter-lived tokens, or could not be reached for a fresh one\n`,
    );
  }
}

function sameScopes(a: string, b: string): boolean {
  const asked = new Set(a.split(' ').filter(Boolean));
  const granted = new Set(b.split(' ').filter(Boolean));
  return asked.size === granted.size && [...asked].every((name) => granted.has(name));
}

/**
 * Writes straight to fd 1: setting up process.stdout costs ~0.4 ms of this path. A reader that is
 * gone (`| head`) is not an error; a non-blocking stdout is left to the stream to drain.
 */
export function print(text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') process.stdout.write(bytes.subarray(written));
    else if (code !== 'EPIPE') throw err;
  }
}

/** Prints one token (or one line saying why not) and calls `done` with the exit code of docs/cli.md. */
export function runToken(args: readonly string[], done: (exitCode: number) => void): void {
  let options: TokenOptions;
  try {
    options = parseTokenCommandLine(args);
  } catch (err) {
    return done(fail(err));
  }
  askAgent(options, 'token.get', options.params, (err, reply) => {
    if (err !== undefined) return done(fail(err));
    print(formatToken(reply!, options.output));
    sayNotices(options, reply!);
    done(OK);
  });
}

/** Which agent to ask: the socket (--socket), and the config and autostart choice for one started on the way. */
export type AgentRoute = Pick<TokenOptions, 'socket' | 'config' | 'autostart'>;

/** The reply, or the error; `via` is the socket of the agent that answered. */
export type Answer<M extends MethodName> = (err: unknown, result?: Result<M>, via?: string) => void;

/**
 * One call to the agent, through one connection. When none answers on the socket, the agent is
 * found or started (connectAgent.ts, loaded only then) and asked through the same client.
 */
export function askAgent<M extends MethodName>(route: AgentRoute, method: M, params: Params<M>, answer: Answer<M>): void {
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
  import('./connectAgent.js').then(({ findOrStartAgent }) => findOrStartAgent(options, noAgent)).then(
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
