/**
 * What the agent reports of who got which token (docs/SECURITY.md): the audit's records and a
 * delegation's restrictions, as `audit.list`, `agent.status` and `delegation.*` answer them
 * (src/rpc/methods.ts). Never a token.
 */
/** The token a delegation serves: one kind, never "auto". */
export const DELEGATED_KINDS = ['access', 'id'] as const;
export type DelegatedKind = (typeof DELEGATED_KINDS)[number];

/** What happened to a `token.get` (docs/protocol.md, `audit.list`). */
export type AuditOutcome = 'served' | 'refreshed' | 'refused' | 'failed';
export type OutcomeCounters = Record<AuditOutcome, number>;

/** One `token.get` outcome as the audit keeps it; never a token. */
export interface AuditEntry {
  /** Unix seconds, with milliseconds. */
  time: number;
  profile: string;
  kind: string;
  audience?: string;
  scope?: string;
  /** The client process, from the kernel; -1 where the platform cannot say. */
  pid: number;
  uid: number;
  /** Its executable (/proc/PID/exe), or "unknown". */
  exe: string;
  /** The socket it came through: "agent", or "delegation ID". */
  via: string;
  outcome: AuditOutcome;
  /** The reason of a refused or failed request. */
  reason?: string;
  /** The same request with the same outcome, this many times in a row from one process. */
  count: number;
  /** Unix seconds of the last of them, when count > 1. */
  last_time?: number;
}

/** What a delegation lets its socket have (docs/protocol.md, `delegation.create`). */
export interface DelegationInfo {
  id: string;
  profile: string;
  socket: string;
  restrictions: {
    audience?: string;
    scope?: string;
    kind: DelegatedKind;
    confirm: boolean;
    exchange: boolean;
  };
  uses_left?: number;
  /** Unix seconds. */
  expires_at?: number;
  /** True when it ends with the connection that made it (`delegate -- CMD`). */
  bound: boolean;
}
