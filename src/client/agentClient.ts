import { connect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { JSONRPCClient as Client, JSONRPCErrorException as ErrorException, JSONRPCResponse } from 'json-rpc-2.0';
import { LineSplitter } from '../rpc/framing.cjs';
import type { MethodName, Params, Result } from '../rpc/methods.js';
import { isReason, type Reason } from '../rpc/reasons.js';

// The package index pulls in the server half too: importing it from ESM costs ~25 ms of the
// thin client's start, requiring just the client module ~3 ms (measured with hyperfine).
const require = createRequire(import.meta.url);
const { JSONRPCClient } = require('json-rpc-2.0/dist/client.js') as { JSONRPCClient: typeof Client };
const { JSONRPCErrorException } = require('json-rpc-2.0/dist/models.js') as { JSONRPCErrorException: typeof ErrorException };

/** No agent answers on the socket (missing, refused, or not ours). */
export class NoAgentError extends Error {
  constructor(readonly socketPath: string, detail: string) {
    super(`no agent is running on ${socketPath} (${detail})`);
    this.name = 'NoAgentError';
  }
}

/** An error the agent answered with: the stable reason and its message. */
export class AgentCallError extends Error {
  constructor(readonly reason: Reason | undefined, message: string, readonly code: number) {
    super(message);
    this.name = 'AgentCallError';
  }
}

/** One connection to the agent, carrying any number of (pipelined) JSON-RPC calls. */
export class AgentClient {
  private readonly rpc: Client;

  private constructor(private readonly socket: Socket) {
    this.rpc = new JSONRPCClient((request) => {
      socket.write(JSON.stringify(request) + '\n');
    });
    const splitter = new LineSplitter((line) => {
      let message: JSONRPCResponse;
      try {
        message = JSON.parse(line) as JSONRPCResponse;
      } catch {
        return;
      }
      this.rpc.receive(message);
    });
    socket.on('data', (chunk: Buffer) => {
      if (!splitter.push(chunk)) socket.destroy();
    });
    socket.on('close', () => this.rpc.rejectAllPendingRequests('the agent closed the connection'));
  }

  static connect(socketPath: string, timeoutMs = 2000): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new NoAgentError(socketPath, 'it did not accept the connection in time'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        resolve(new AgentClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NoAgentError(socketPath, err.code === 'ENOENT' ? 'no socket there' : err.code ?? err.message));
      });
    });
  }

  async call<M extends MethodName>(method: M, params: Params<M>, timeoutMs?: number): Promise<Result<M>> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const request = this.rpc.request(method, params) as Promise<Result<M>>;
      if (timeoutMs === undefined) return await request;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new AgentCallError(undefined, `the agent did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`, -1)),
          timeoutMs,
        );
      });
      return await Promise.race([request, timeout]);
    } catch (err) {
      if (err instanceof JSONRPCErrorException) {
        const reason = (err.data as { reason?: unknown } | undefined)?.reason;
        throw new AgentCallError(isReason(reason) ? reason : undefined, err.message, err.code);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.end();
  }
}
