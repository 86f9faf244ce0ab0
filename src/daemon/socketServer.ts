import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Logger } from './logger.js';
import {
  agentFailure,
  AgentError,
  encode,
  ErrorCodes,
  failure,
  invalidRequest,
  isRequest,
  LineSplitter,
  methodNotFound,
  parseError,
  success,
  type Id,
  type Response,
} from '../rpc/jsonRpc.js';
import type { ConnectionContext } from './connection.js';
import { peerOf, type Peer } from './peer.js';
import { processMemory } from './memoryWhenQuiet.js';
import {
  AgentAlreadyRunningError,
  ensureSocketDirectory,
  socketAnswers,
} from './socketDirectory.js';

type Handler = (params: unknown, connection: ConnectionContext) => unknown;
/** A method table: the agent's (methodTable.ts), or a delegation's restricted one. */
export type Handlers = Record<string, Handler>;
/** An answer: ready now (a cached token), or later (anything that talks to a provider or a store). */
type Answer = Response | Response[] | null | Promise<Response | Response[] | null>;

/** A client that stops reading its replies is cut off once this much is queued for it. */
const MAX_QUEUED_REPLY_BYTES = 4 * 1024 * 1024;
/** Requests one connection may have in progress before the agent stops reading from it. */
const MAX_INFLIGHT_PER_CONNECTION = 256;

interface Connection extends ConnectionContext {
  socket: Socket;
  peer: Peer;
  inflight: number;
  /** The client shut down its sending side: end ours once every answer is written. */
  ended: boolean;
  closeHandlers: Array<() => void>;
}

/** systemd socket activation (LISTEN_FDS for this process): the socket is systemd's, fd 3. */
export function isSocketActivated(env: NodeJS.ProcessEnv): boolean {
  return (
    Boolean(env.LISTEN_FDS) && Number(env.LISTEN_PID) === process.pid && Number(env.LISTEN_FDS) >= 1
  );
}

/** What a server is, beside its methods: its name in the audit, and who hears of a hang-up. */
export interface ServerOptions {
  /** The socket as the audit names it: "agent", or "delegation ID". */
  via: string;
  /** Called when a connection closes, after its own close handlers. */
  onClose?: (connection: ConnectionContext) => void;
}

/**
 * JSON-RPC over a Unix socket, one message per line (the codec is src/rpc/). Owns the socket file:
 * created 0600 in a 0700 directory, a stale one replaced, removed again on close (unless systemd
 * passed it in). The caller holds the user's agent lock (agentLock.ts), so one agent binds. Each
 * connection's peer is read from the kernel at accept: another user's is closed unanswered.
 */
export class SocketServer {
  private readonly handlers = new Map<string, Handler>();
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private inflight = 0;
  private idle: (() => void) | undefined;
  private ownsSocketFile = false;

  constructor(
    readonly socketPath: string,
    methods: Handlers,
    private readonly log: Logger,
    private readonly options: ServerOptions = { via: 'agent' },
  ) {
    // A Map, so that `__proto__` or `toString` is an unknown method, not an inherited one.
    for (const [name, handler] of Object.entries(methods)) this.handlers.set(name, handler);
    // Half-open: a client that shuts down its sending side still gets every answer.
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  private failure(id: Id, error: unknown): Response {
    if (error instanceof AgentError) return agentFailure(id, error);
    this.log.error(
      { err: error instanceof Error ? error.message : String(error) },
      'internal error in a request',
    );
    return failure(
      id,
      ErrorCodes.INTERNAL_ERROR,
      `internal error: ${(error as Error)?.message ?? error}`,
    );
  }

  /** Binds the socket: the fd systemd passed (LISTEN_FDS), or the path with umask 0177 set before bind. */
  async listen(env: NodeJS.ProcessEnv = process.env): Promise<'systemd' | 'path'> {
    if (isSocketActivated(env)) {
      delete env.LISTEN_FDS;
      delete env.LISTEN_PID;
      delete env.LISTEN_FDNAMES;
      await this.bind({ fd: 3 });
      return 'systemd';
    }
    ensureSocketDirectory(this.socketPath);
    await this.replaceStaleSocket();
    const previous = process.umask(0o177);
    try {
      await this.bind({ path: this.socketPath, exclusive: true });
    } catch (err) {
      // Only an agent of another state directory (another lock) gets here: the other one won.
      if (
        (err as NodeJS.ErrnoException).code === 'EADDRINUSE' &&
        (await socketAnswers(this.socketPath))
      )
        throw new AgentAlreadyRunningError(this.socketPath);
      throw err;
    } finally {
      process.umask(previous);
    }
    this.ownsSocketFile = true;
    chmodSync(this.socketPath, 0o600);
    return 'path';
  }

  private bind(options: { fd: number } | { path: string; exclusive: boolean }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private async replaceStaleSocket(): Promise<void> {
    const stat = lstatSync(this.socketPath, { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (!stat.isSocket()) {
      throw new Error(
        `${this.socketPath} exists and is not a socket: remove it or choose another path with --socket`,
      );
    }
    if (await socketAnswers(this.socketPath)) throw new AgentAlreadyRunningError(this.socketPath);
    this.log.info({ socket: this.socketPath }, 'removing stale socket');
    unlinkSync(this.socketPath);
  }

  private accept(socket: Socket): void {
    const peer = peerOf(socket);
    // Behind the socket's modes, as ssh-agent does: someone opened them, or a root process passed
    // the connection on. Root may: it can read the agent's memory anyway.
    if (peer === undefined || !peer.trusted) {
      const who = peer ? { pid: peer.pid, uid: peer.uid } : { credentials: 'unreadable' };
      this.log.warn({ ...who, via: this.options.via }, 'refused a connection from another user');
      socket.destroy();
      return;
    }
    const connection: Connection = {
      socket,
      peer,
      via: this.options.via,
      inflight: 0,
      ended: false,
      closeHandlers: [],
      onClose(fn) {
        this.closeHandlers.push(fn);
      },
    };
    this.connections.add(connection);
    const splitter = new LineSplitter((line) => this.handleLine(connection, line));
    socket.on('data', (chunk: Buffer) => {
      if (!splitter.push(chunk)) {
        this.log.warn('closing a connection that sent a line over 64 KiB');
        socket.destroy();
      }
    });
    socket.on('end', () => {
      connection.ended = true;
      if (connection.inflight === 0) socket.end();
      // A client that closed entirely (Ctrl-C) looks like one that shut down its sending side until
      // something is written: an empty write fails (EPIPE) only for the first, whose requests are
      // then cancelled like any hang-up (a login stops waiting and frees its port).
      else socket.write('');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections.delete(connection);
      for (const fn of connection.closeHandlers) fn();
      this.options.onClose?.(connection);
    });
  }

  /**
   * Answers one line. What is ready now (a cached token) is answered now, without a promise:
   * token.get is the hot path. Only answers that wait count as in flight.
   */
  private handleLine(connection: Connection, line: string): void {
    processMemory.served();
    const answer = this.answer(line, connection);
    if (!(answer instanceof Promise)) {
      this.reply(connection, answer);
      return;
    }
    const { socket } = connection;
    this.inflight++;
    if (++connection.inflight >= MAX_INFLIGHT_PER_CONNECTION) socket.pause();
    void answer
      .then(
        (response) => this.reply(connection, response),
        (err: unknown) =>
          this.log.error({ err: (err as Error)?.message }, 'request failed outside its handler'),
      )
      .then(() => {
        if (connection.inflight-- === MAX_INFLIGHT_PER_CONNECTION) socket.resume();
        if (connection.inflight === 0 && connection.ended) socket.end();
        if (--this.inflight === 0) this.idle?.();
      });
  }

  /** JSON-RPC 2.0 over one line: a request, or a batch of them (answered together). */
  private answer(line: string, connection: Connection): Answer {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return parseError();
    }
    if (!Array.isArray(message)) return this.answerOne(message, connection);
    if (message.length === 0) return invalidRequest(message);
    const answers = message.map((one: unknown) => Promise.resolve(this.answerOne(one, connection)));
    return Promise.all(answers).then((replies) => {
      const answered = replies.filter((reply): reply is Response => reply !== null);
      return answered.length > 0 ? answered : null;
    });
  }

  /** Calls the method's handler; a notification (no id) is run but never answered. */
  private answerOne(
    message: unknown,
    connection: Connection,
  ): Response | null | Promise<Response | null> {
    if (!isRequest(message)) return invalidRequest(message);
    const { id } = message;
    const handler = this.handlers.get(message.method);
    if (handler === undefined) return id === undefined ? null : methodNotFound(id);
    let result: unknown;
    try {
      result = handler(message.params, connection);
    } catch (err) {
      return id === undefined ? null : this.failure(id, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => (id === undefined ? null : success(id, value)),
        (err: unknown) => (id === undefined ? null : this.failure(id, err)),
      );
    }
    return id === undefined ? null : success(id, result);
  }

  private reply(connection: Connection, response: Response | Response[] | null): void {
    const { socket } = connection;
    if (response === null || socket.destroyed) return;
    if (socket.writableLength > MAX_QUEUED_REPLY_BYTES) {
      this.log.warn('closing a connection that does not read its replies');
      socket.destroy();
      return;
    }
    if (socket.writableEnded) return;
    socket.write(encode(response));
  }

  /** Stops accepting, lets in-flight requests finish (bounded), closes connections, removes the socket file. */
  async close(graceMs = 5000): Promise<void> {
    this.server.close();
    if (this.ownsSocketFile) {
      try {
        unlinkSync(this.socketPath);
      } catch {
        // Already gone.
      }
    }
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        setTimeout(resolve, graceMs).unref();
      });
    }
    for (const { socket } of this.connections) socket.end();
  }
}
