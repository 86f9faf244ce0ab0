/**
 * The one client of the agent's socket, for `kms-agent token`'s fast path, the full CLI, the demo,
 * the tests and the bench: the JSON-RPC codec of src/rpc/ over one connection, any number of
 * (pipelined) calls on it. Callbacks underneath (the fast path allocates no promise), promises on
 * top. It checks the socket before it connects (src/os/agentSocket.ts).
 */
import { connect, type Socket } from 'node:net';
import { AgentError, encode, LineSplitter, readReply, request } from '../../rpc/jsonRpc.js';
import type { MethodName, Params, Result } from '../../rpc/methods.js';
import { checkAgentSocket } from '../../os/agentSocket.js';

export type ReplyCallback<T> = (err: AgentError | undefined, result?: T) => void;

interface Pending {
  callback: ReplyCallback<never>;
  timer?: NodeJS.Timeout;
}

/** No agent answers on the socket: autostart may start one. */
export function noAgent(socketPath: string, detail: string): AgentError {
  return new AgentError(
    'NO_AGENT',
    `no agent is running on ${socketPath} (${detail}): start one with \`eval "$(kms-agent start)"\``,
  );
}

/** A socket file nobody listens on: left by an agent that died, or by an ssh -R session that ended (docs/tools.md). */
function staleSocket(socketPath: string): AgentError {
  return new AgentError(
    'NO_AGENT',
    `nothing answers on ${socketPath}: a stale socket (an agent that died, or an ssh -R session that ended): start an agent with \`eval "$(kms-agent start)"\`, or reconnect the ssh session that forwards it`,
  );
}

/**
 * The connection ended before the agent said a word. Over `ssh -R` this is what a forward whose
 * local agent is gone looks like: sshd accepts, then hangs up when the other end cannot connect.
 */
function closedUnanswered(socketPath: string): AgentError {
  return new AgentError(
    'AGENT_FAILED',
    `the agent closed the connection without answering: if ${socketPath} is forwarded from another machine (ssh -R), no agent is running there; otherwise the agent stopped`,
  );
}

export class AgentClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private connected = false;
  private answered = false;
  /** Why the connection ended before it was made: the error every call gets. */
  private refused: AgentError | undefined;

  private constructor(
    readonly socketPath: string,
    private readonly socket: Socket,
  ) {
    const splitter = new LineSplitter((line) => this.receive(line));
    socket.once('connect', () => (this.connected = true));
    socket.on('data', (chunk: Buffer) => {
      this.answered = true;
      if (!splitter.push(chunk)) socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.connected) return;
      if (err.code === 'ECONNREFUSED') this.refused = staleSocket(socketPath);
      else
        this.refused = noAgent(
          socketPath,
          err.code === 'ENOENT' ? 'no socket there' : (err.code ?? err.message),
        );
    });
    socket.on('close', () => this.failAll(this.refused ?? this.hungUp()));
  }

  /**
   * Checks the socket, then connects; calls may be made at once (they are sent once connected).
   * Throws INSECURE_SOCKET for a socket that is not the user's own, NO_AGENT when there is none.
   */
  static open(socketPath: string): AgentClient {
    if (!checkAgentSocket(socketPath)) throw noAgent(socketPath, 'no socket there');
    return new AgentClient(socketPath, connect(socketPath));
  }

  /** Like open, resolving once connected. */
  static connect(socketPath: string, timeoutMs = 2000): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const client = AgentClient.open(socketPath);
      const timer = setTimeout(() => {
        client.socket.destroy();
        reject(noAgent(socketPath, 'it did not accept the connection in time'));
      }, timeoutMs);
      client.socket.once('connect', () => {
        clearTimeout(timer);
        resolve(client);
      });
      client.socket.once('close', () => {
        clearTimeout(timer);
        reject(client.refused ?? new AgentError('AGENT_FAILED', 'the agent closed the connection'));
      });
    });
  }

  /** One call; `callback` gets the result or the AgentError. A call not answered in `timeoutMs` ends the connection. */
  request<M extends MethodName>(
    method: M,
    params: Params<M>,
    callback: ReplyCallback<Result<M>>,
    timeoutMs?: number,
  ): void {
    const id = this.nextId++;
    const entry: Pending = { callback };
    if (timeoutMs !== undefined) {
      entry.timer = setTimeout(() => {
        this.settle(
          id,
          new AgentError(
            'AGENT_FAILED',
            `the agent did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
        this.socket.destroy();
      }, timeoutMs);
    }
    this.pending.set(id, entry);
    if (this.socket.destroyed) this.failAll(this.refused ?? this.hungUp());
    else this.socket.write(encode(request(id, method, params)));
  }

  call<M extends MethodName>(method: M, params: Params<M>, timeoutMs?: number): Promise<Result<M>> {
    return new Promise((resolve, reject) =>
      this.request(
        method,
        params,
        (err, result) => (err ? reject(err) : resolve(result as Result<M>)),
        timeoutMs,
      ),
    );
  }

  /** Hangs up, as Ctrl-C would: calls still waiting fail, and the agent cancels what they waited for (a login). */
  close(): void {
    if (this.pending.size > 0)
      this.failAll(
        new AgentError('AGENT_FAILED', 'the connection was closed before the agent answered'),
      );
    this.socket.destroy();
  }

  private hungUp(): AgentError {
    return this.answered
      ? new AgentError('AGENT_FAILED', 'the agent closed the connection')
      : closedUnanswered(this.socketPath);
  }

  private receive(line: string): void {
    const reply = readReply(line);
    if (reply === undefined || typeof reply.id !== 'number') return;
    this.settle(reply.id, reply.error, reply.error ? undefined : reply.result);
  }

  private settle(id: number, err: AgentError | undefined, result?: unknown): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    (entry.callback as ReplyCallback<unknown>)(err, result);
  }

  private failAll(err: AgentError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }
}
