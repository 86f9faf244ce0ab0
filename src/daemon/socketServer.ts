import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Logger } from './logger.js';
import { AgentError, ErrorCodes } from '../rpc/reasons.js';
import { LineSplitter } from '../rpc/framing.cjs';
import type { ConnectionContext, MethodTable } from './methodTable.js';
import { AgentAlreadyRunningError, ensureSocketDirectory, socketAnswers } from './socketDirectory.js';

type Id = string | number | null;
type Response = { jsonrpc: '2.0'; id: Id; result: unknown } | { jsonrpc: '2.0'; id: Id; error: { code: number; message: string; data?: unknown } };
type Request = { jsonrpc: '2.0'; method: string; params?: unknown; id?: Id };
type Handler = (params: unknown, connection: ConnectionContext) => unknown;
/** An answer: ready now (a cached token), or later (anything that talks to a provider or a store). */
type Answer = Response | Response[] | null | Promise<Response | Response[] | null>;

/** A client that stops reading its replies is cut off once this much is queued for it. */
const MAX_QUEUED_REPLY_BYTES = 4 * 1024 * 1024;
/** Requests one connection may have in progress before the agent stops reading from it. */
const MAX_INFLIGHT_PER_CONNECTION = 256;

interface Connection extends ConnectionContext {
  socket: Socket;
  inflight: number;
  closeHandlers: Array<() => void>;
}

/**
 * JSON-RPC over a Unix socket, one message per line. Owns the socket file: created 0600 in a
 * 0700 directory, a stale one replaced, removed again on close (unless systemd passed it in).
 */
export class SocketServer {
  private readonly handlers = new Map<string, Handler>();
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private inflight = 0;
  private idle: (() => void) | undefined;
  private ownsSocketFile = false;

  constructor(readonly socketPath: string, methods: MethodTable, private readonly log: Logger) {
    // A Map, so that `__proto__` or `toString` is an unknown method, not an inherited one.
    for (const [name, handler] of Object.entries(methods)) this.handlers.set(name, handler as Handler);
    this.server = createServer((socket) => this.accept(socket));
  }

  private failure(id: Id, error: unknown): Response {
    if (error instanceof AgentError) return errorResponse(id, error.code, error.message, { reason: error.reason });
    this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'internal error in a request');
    return errorResponse(id, ErrorCodes.INTERNAL_ERROR, `internal error: ${(error as Error)?.message ?? error}`);
  }

  /** Binds the socket: the fd systemd passed (LISTEN_FDS), or the path with umask 0177 set before bind. */
  async listen(env: NodeJS.ProcessEnv = process.env): Promise<'systemd' | 'path'> {
    if (env.LISTEN_FDS && Number(env.LISTEN_PID) === process.pid && Number(env.LISTEN_FDS) >= 1) {
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
    let stat;
    try {
      stat = lstatSync(this.socketPath);
    } catch {
      return;
    }
    if (!stat.isSocket()) {
      throw new Error(`${this.socketPath} exists and is not a socket: remove it or choose another path with --socket`);
    }
    if (await socketAnswers(this.socketPath)) throw new AgentAlreadyRunningError(this.socketPath);
    this.log.info({ socket: this.socketPath }, 'removing stale socket');
    unlinkSync(this.socketPath);
  }

  private accept(socket: Socket): void {
    const connection: Connection = {
      socket,
      inflight: 0,
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
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections.delete(connection);
      for (const fn of connection.closeHandlers) fn();
    });
  }

  /**
   * Answers one line. What is ready now (a cached token) is answered now, without a promise:
   * token.get is the hot path. Only answers that wait count as in flight.
   */
  private handleLine(connection: Connection, line: string): void {
    const answer = this.answer(line, connection);
    if (!(answer instanceof Promise)) {
      this.reply(connection, answer);
      return;
    }
    const { socket } = connection;
    this.inflight++;
    if (++connection.inflight >= MAX_INFLIGHT_PER_CONNECTION) socket.pause();
    answer.then(
      (response) => this.reply(connection, response),
      (err: unknown) => this.log.error({ err: (err as Error)?.message }, 'request failed outside its handler'),
    ).then(() => {
      if (connection.inflight-- === MAX_INFLIGHT_PER_CONNECTION) socket.resume();
      if (--this.inflight === 0) this.idle?.();
    });
  }

  /** JSON-RPC 2.0 over one line: a request, or a batch of them (answered together). */
  private answer(line: string, connection: Connection): Answer {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return errorResponse(null, ErrorCodes.PARSE_ERROR, 'Parse error');
    }
    if (!Array.isArray(message)) return this.answerOne(message, connection);
    if (message.length === 0) return invalidRequest(message);
    return Promise.all(message.map((one: unknown) => this.answerOne(one, connection))).then((replies) => {
      const answered = replies.filter((reply): reply is Response => reply !== null);
      return answered.length > 0 ? answered : null;
    });
  }

  /** Calls the method's handler; a notification (no id) is run but never answered. */
  private answerOne(message: unknown, connection: Connection): Response | null | Promise<Response | null> {
    if (!isRequest(message)) return invalidRequest(message);
    const { id } = message;
    const handler = this.handlers.get(message.method);
    if (handler === undefined) return id === undefined ? null : errorResponse(id, ErrorCodes.METHOD_NOT_FOUND, 'Method not found');
    let result: unknown;
    try {
      result = handler(message.params, connection);
    } catch (err) {
      return id === undefined ? null : this.failure(id, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => (id === undefined ? null : { jsonrpc: '2.0', id, result: value ?? null }),
        (err: unknown) => (id === undefined ? null : this.failure(id, err)),
      );
    }
    return id === undefined ? null : { jsonrpc: '2.0', id, result: result ?? null };
  }

  private reply(connection: Connection, response: unknown): void {
    const { socket } = connection;
    if (response === null || socket.destroyed) return;
    if (socket.writableLength > MAX_QUEUED_REPLY_BYTES) {
      this.log.warn('closing a connection that does not read its replies');
      socket.destroy();
      return;
    }
    socket.write(JSON.stringify(response) + '\n');
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

function isId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** A JSON-RPC 2.0 request object: version, a method name, and an id (if any) of an allowed type. */
function isRequest(message: unknown): message is Request {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const m = message as Record<string, unknown>;
  return m.jsonrpc === '2.0' && typeof m.method === 'string' && (m.id === undefined || isId(m.id)) && m.result === undefined && m.error === undefined;
}

function invalidRequest(message: unknown): Response {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : null;
  return errorResponse(isId(id) ? id : null, ErrorCodes.INVALID_REQUEST, 'Invalid Request');
}

function errorResponse(id: Id, code: number, message: string, data?: unknown): Response {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}
