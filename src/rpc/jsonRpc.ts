/**
 * The one JSON-RPC 2.0 codec, for both sides of the socket (docs/protocol.md): the framing
 * (one message per line), the envelopes (the daemon checks requests and builds responses, the
 * clients build requests and read responses) and the error type with its mapping (an AgentError
 * travels as a JSON-RPC error whose `error.data.reason` carries its reason). The `kms-agent token`
 * fast path carries it in its bundle.
 */

// ---- errors -------------------------------------------------------------------------------------

/** Stable reasons the agent sends; clients and scripts branch on these. */
export const WIRE_REASONS = [
  'LOGIN_REQUIRED',
  'UNKNOWN_PROFILE',
  'PROVIDER_UNREACHABLE',
  'PROVIDER_ERROR',
  'STORE_UNAVAILABLE',
  'LOGIN_TIMEOUT',
  'LOGIN_DENIED',
  'INVALID_PARAMS',
  'BUSY',
  'CONFIG_ERROR',
  'NO_LOGIN_NEEDED',
  'DPOP_REQUIRED',
  // The agent's policy said no (docs/SECURITY.md): exit 7.
  'LOCKED',
  'NOT_CONFIRMED',
  'FORBIDDEN',
  'WRONG_PASSPHRASE',
] as const;

/**
 * The client's own: no agent answers, or none could be started; a command line it refuses; a socket
 * it refuses to talk to; an agent that hung up, stalled or answered an error it has no reason for.
 */
export const CLIENT_REASONS = [
  'NO_AGENT',
  'AGENT_START_FAILED',
  'USAGE',
  'INSECURE_SOCKET',
  'AGENT_FAILED',
] as const;

export type WireReason = (typeof WIRE_REASONS)[number];
export type ClientReason = (typeof CLIENT_REASONS)[number];
export type Reason = WireReason | ClientReason;

/** JSON-RPC error codes: the standard ones, and one application code for every agent reason. */
export const ErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  AGENT_ERROR: -32000,
} as const;

/** The `error` member of a JSON-RPC response. */
export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** An error with a reason to branch on and a message a person can act on. */
export class AgentError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }

  get code(): number {
    return this.reason === 'INVALID_PARAMS' ? ErrorCodes.INVALID_PARAMS : ErrorCodes.AGENT_ERROR;
  }
}

export function isWireReason(value: unknown): value is WireReason {
  return typeof value === 'string' && (WIRE_REASONS as readonly string[]).includes(value);
}

/** The daemon's side of the mapping: an AgentError as a JSON-RPC error. */
export function toRpcError(err: AgentError): RpcError {
  return { code: err.code, message: err.message, data: { reason: err.reason } };
}

/**
 * The client's side: a JSON-RPC error as the AgentError it was. One without a reason this client
 * knows (an internal error, a method an older agent lacks) is AGENT_FAILED, with the agent's words.
 */
export function fromRpcError(error: unknown): AgentError {
  const { message, data } = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown;
    data?: { reason?: unknown };
  };
  const text =
    typeof message === 'string' && message !== '' ? message : 'the agent answered with an error';
  const reason = typeof data === 'object' && data !== null ? data.reason : undefined;
  return new AgentError(isWireReason(reason) ? reason : 'AGENT_FAILED', text);
}

// ---- framing ------------------------------------------------------------------------------------

/** Each line at most MAX_LINE_BYTES. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream into lines. Returns false once a line grows past the cap, after which
 * the caller must close the connection (the rest of the stream cannot be trusted to resync).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): boolean {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxBytes) return false;
      let line: string;
      if (this.pendingBytes === 0) {
        line = piece.toString('utf8');
      } else {
        this.pending.push(piece);
        line = Buffer.concat(this.pending, this.pendingBytes + piece.length).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > 0 && line !== '\r') this.onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxBytes) return false;
      this.pending.push(rest);
    }
    return true;
  }
}

// ---- envelopes ----------------------------------------------------------------------------------

export type Id = string | number | null;
export interface Request {
  jsonrpc: '2.0';
  method: string;
  params?: unknown;
  /** Absent in a notification, which is run but never answered. */
  id?: Id;
}
export type Response =
  { jsonrpc: '2.0'; id: Id; result: unknown } | { jsonrpc: '2.0'; id: Id; error: RpcError };

/** One message as it goes on the wire: a line of JSON. */
export function encode(message: Request | Response | Response[]): string {
  return JSON.stringify(message) + '\n';
}

export function request(id: Id, method: string, params: unknown): Request {
  return { jsonrpc: '2.0', id, method, params };
}

function isId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/** A JSON-RPC 2.0 request object: version, a method name, and an id (if any) of an allowed type. */
export function isRequest(message: unknown): message is Request {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const m = message as Record<string, unknown>;
  return (
    m.jsonrpc === '2.0' &&
    typeof m.method === 'string' &&
    (m.id === undefined || isId(m.id)) &&
    m.result === undefined &&
    m.error === undefined
  );
}

export function success(id: Id, result: unknown): Response {
  return { jsonrpc: '2.0', id, result: result ?? null };
}

export function failure(id: Id, code: number, message: string): Response {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/** The answer to a request whose handler threw an AgentError: its reason goes in `error.data.reason`. */
export function agentFailure(id: Id, err: AgentError): Response {
  return { jsonrpc: '2.0', id, error: toRpcError(err) };
}

export function parseError(): Response {
  return failure(null, ErrorCodes.PARSE_ERROR, 'Parse error');
}

/** The answer to something that is not a request; its id is echoed when it has a valid one. */
export function invalidRequest(message: unknown): Response {
  const id =
    typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : null;
  return failure(isId(id) ? id : null, ErrorCodes.INVALID_REQUEST, 'Invalid Request');
}

export function methodNotFound(id: Id): Response {
  return failure(id, ErrorCodes.METHOD_NOT_FOUND, 'Method not found');
}

/** A response as a client reads it: its id, and its result or the AgentError it carries. */
export type Reply =
  { id: unknown; result: unknown; error?: undefined } | { id: unknown; error: AgentError };

/** Reads one response line; anything that is not a JSON-RPC response is undefined (skipped by clients). */
export function readReply(line: string): Reply | undefined {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const m = message as Record<string, unknown>;
  if ('result' in m) return { id: m.id, result: m.result };
  if ('error' in m) return { id: m.id, error: fromRpcError(m.error) };
  return undefined;
}
