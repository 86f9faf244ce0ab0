/** Stable reason strings carried in `error.data.reason`; clients and scripts branch on these. */
export const Reasons = [
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
] as const;

export type Reason = (typeof Reasons)[number];

/** JSON-RPC error codes: the standard ones, and one application code for every agent reason. */
export const ErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  AGENT_ERROR: -32000,
} as const;

/** An error the agent reports to a client: a reason to branch on and a message a person can act on. */
export class AgentError extends Error {
  readonly reason: Reason;

  constructor(reason: Reason, message: string) {
    super(message);
    this.name = 'AgentError';
    this.reason = reason;
  }

  get code(): number {
    return this.reason === 'INVALID_PARAMS' ? ErrorCodes.INVALID_PARAMS : ErrorCodes.AGENT_ERROR;
  }
}

export function isReason(value: unknown): value is Reason {
  return typeof value === 'string' && (Reasons as readonly string[]).includes(value);
}
