/**
 * `kms-agent token` while an agent is listening: the command scripts run over and over, so it is
 * CommonJS on node:net alone — no ES module loader, no json-rpc-2.0, no promises (bench/RESULTS.md
 * has what each of those cost). When no agent answers, the full client in tokenCommand.ts takes
 * over: it starts one (autostart) or says how to.
 */
import { writeSync } from 'node:fs';
import { connect } from 'node:net';
import { LineSplitter } from '../rpc/framing.cjs';
import type { TokenReply } from '../rpc/methods.js';
import type { Reason } from '../rpc/reasons.js';
import { resolveSocketPath } from '../rpc/socketPath.cjs';
import { Exit, exitCodeFor } from './exitCodes.cjs';
import { formatToken, minValidNotice, parseTokenArgs, scopeNotice, tokenParams, TOKEN_TIMEOUT_MS, type TokenOptions } from './tokenArgs.cjs';

interface Reply {
  id?: unknown;
  result?: TokenReply;
  error?: { message?: string; data?: { reason?: Reason } };
}

function say(line: string): void {
  process.stderr.write(`kms-agent: ${line}\n`);
}

/**
 * Writes straight to fd 1: setting up process.stdout costs ~0.4 ms of this path. A reader that is
 * gone (`| head`) is not an error; a non-blocking stdout is left to the stream to drain.
 */
function print(text: string): void {
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

/** Prints one token (or one line saying why not) and sets the exit code of SPEC §4. */
export function runTokenFast(args: string[]): void {
  let options: TokenOptions;
  try {
    options = parseTokenArgs(args);
  } catch (err) {
    say((err as Error).message);
    process.exitCode = Exit.ERROR;
    return;
  }

  let connected = false;
  let done = false;
  const socket = connect(resolveSocketPath(options.socket));
  const finish = (exitCode: number): void => {
    done = true;
    clearTimeout(timer);
    socket.destroy();
    process.exitCode = exitCode;
  };
  const timer = setTimeout(() => {
    say(`the agent did not answer token.get within ${TOKEN_TIMEOUT_MS / 1000} s`);
    finish(Exit.ERROR);
  }, TOKEN_TIMEOUT_MS);

  const splitter = new LineSplitter((line) => {
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      return;
    }
    if (done || reply.id !== 1) return;
    if (reply.result) {
      print(formatToken(reply.result, options.output));
      const scopeSaid = scopeNotice(options, reply.result);
      if (scopeSaid) say(scopeSaid);
      const minValidSaid = minValidNotice(options, reply.result, Date.now() / 1000);
      if (minValidSaid) say(minValidSaid);
      finish(Exit.OK);
    } else {
      say(reply.error?.message ?? 'the agent answered with an error');
      finish(exitCodeFor(reply.error?.data?.reason));
    }
  });

  socket.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'token.get', params: tokenParams(options) }) + '\n');
  socket.on('connect', () => {
    connected = true;
  });
  socket.on('data', (chunk: Buffer) => {
    if (!splitter.push(chunk)) socket.destroy();
  });
  socket.on('error', () => {
    if (connected || done) return;
    done = true;
    clearTimeout(timer);
    void import('./tokenCommand.js').then(async ({ runToken }) => {
      process.exitCode = await runToken(options);
    });
  });
  socket.on('close', () => {
    if (done) return;
    say('the agent closed the connection');
    finish(Exit.ERROR);
  });
}
