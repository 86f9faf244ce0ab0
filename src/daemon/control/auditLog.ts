import type { Logger } from '../logger.js';
import type { AuditEntry, AuditOutcome, OutcomeCounters } from '../../rpc/controlRecords.js';
import type { Peer } from '../peer.js';
import { AgentError } from '../../rpc/jsonRpc.js';

/** The policy's reasons: a request refused, not failed. */
const REFUSALS: ReadonlySet<string> = new Set(['LOCKED', 'NOT_CONFIRMED', 'FORBIDDEN']);

/** How many outcomes the agent keeps (docs/protocol.md, `audit.list`). */
export const AUDIT_CAPACITY = 1000;
/** A run of repeats still going is logged this often. */
const FLUSH_MS = 10_000;

/** What the audit needs of a connection: who is at the other end, and through which socket. */
export interface AuditedConnection {
  readonly peer: Peer;
  readonly via: string;
}

/**
 * Whose run a request continues: its process (a client that opens a connection per request, or
 * several at once, is one run), or its connection where the kernel gave no pid.
 */
const runOf = (connection: AuditedConnection): unknown =>
  connection.peer.pid > 0 ? connection.peer.pid : connection;

interface AuditRecord {
  serial: number;
  run: unknown;
  time: number;
  lastTime: number;
  profile: string;
  kind: string;
  audience: string | undefined;
  scope: string | undefined;
  pid: number;
  uid: number;
  exe: string;
  via: string;
  outcome: AuditOutcome;
  reason: string | undefined;
  count: number;
  logged: number;
}

function blank(): AuditRecord {
  return {
    serial: -1,
    run: undefined,
    time: 0,
    lastTime: 0,
    profile: '',
    kind: '',
    audience: undefined,
    scope: undefined,
    pid: 0,
    uid: 0,
    exe: '',
    via: '',
    outcome: 'served',
    reason: undefined,
    count: 0,
    logged: 0,
  };
}

/**
 * Every `token.get` outcome: who asked (pid, uid, executable), through which socket, for what, and
 * what happened; never a token. A ring of the last 1,000: a record is made the first time its slot
 * is needed (an idle agent holds only the few it used), then overwritten, so a full ring allocates
 * nothing more. A process that asks the same again and gets the same outcome (a pipelining client,
 * or one that connects for each request) adds to its last record's count instead of taking a new
 * one, and costs no /proc read and no log line; the log gets a run's first at once and its repeats
 * when the run ends or every 10 s.
 */
export class AuditLog {
  private readonly ring: AuditRecord[] = [];
  private serial = 0;
  /** Each run's last record, by its serial number. */
  private readonly runs = new Map<unknown, number>();
  private readonly counters = new Map<string, OutcomeCounters>();
  private flushTimer: NodeJS.Timeout | undefined;

  /** `isProfile`: only configured profiles are counted (not a name a client made up). */
  constructor(
    private readonly log: Logger,
    private readonly isProfile: (name: string) => boolean,
  ) {}

  /** A request that failed or was refused, with its reason. */
  recordError(
    connection: AuditedConnection,
    profile: string,
    kind: string,
    audience: string | undefined,
    scope: string | undefined,
    err: unknown,
  ): void {
    const reason = err instanceof AgentError ? err.reason : 'INTERNAL';
    const outcome = REFUSALS.has(reason) ? 'refused' : 'failed';
    this.record(connection, profile, kind, audience, scope, outcome, reason);
  }

  record(
    connection: AuditedConnection,
    profile: string,
    kind: string,
    audience: string | undefined,
    scope: string | undefined,
    outcome: AuditOutcome,
    reason?: string,
  ): void {
    const now = Date.now();
    if (this.isProfile(profile)) this.count(profile, outcome);
    const run = runOf(connection);
    const last = this.lastOf(run);
    if (
      last !== undefined &&
      last.profile === profile &&
      last.kind === kind &&
      last.audience === audience &&
      last.scope === scope &&
      last.outcome === outcome &&
      last.reason === reason &&
      last.via === connection.via
    ) {
      last.count++;
      last.lastTime = now;
      this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
      return;
    }
    if (last !== undefined) this.logRepeats(last);
    const r = (this.ring[this.serial % AUDIT_CAPACITY] ??= blank());
    if (r.count > r.logged) this.logRepeats(r);
    if (r.serial >= 0 && this.runs.get(r.run) === r.serial) this.runs.delete(r.run);
    r.serial = this.serial++;
    r.run = run;
    r.time = r.lastTime = now;
    r.profile = profile;
    r.kind = kind;
    r.audience = audience;
    r.scope = scope;
    r.pid = connection.peer.pid;
    r.uid = connection.peer.uid;
    r.exe = connection.peer.exe;
    r.via = connection.via;
    r.outcome = outcome;
    r.reason = reason;
    r.count = r.logged = 1;
    this.runs.set(run, r.serial);
    this.log.info(this.fields(r), 'token.get');
  }

  private count(profile: string, outcome: AuditOutcome): void {
    let counters = this.counters.get(profile);
    if (counters === undefined) {
      counters = { served: 0, refreshed: 0, refused: 0, failed: 0 };
      this.counters.set(profile, counters);
    }
    counters[outcome]++;
  }

  countersOf(profile: string): OutcomeCounters {
    return {
      ...(this.counters.get(profile) ?? { served: 0, refreshed: 0, refused: 0, failed: 0 }),
    };
  }

  /** A connection without a pid closed: its run ends, and its repeats are logged. */
  closed(connection: AuditedConnection): void {
    if (connection.peer.pid > 0) return;
    const last = this.lastOf(connection);
    if (last !== undefined && last.count > last.logged) this.logRepeats(last);
    this.runs.delete(connection);
  }

  /** Oldest first: the last `last` records (of `profile`, when given). */
  list(profile?: string, last = AUDIT_CAPACITY): AuditEntry[] {
    const entries: AuditEntry[] = [];
    const first = Math.max(0, this.serial - AUDIT_CAPACITY);
    for (let serial = first; serial < this.serial; serial++) {
      const r = this.ring[serial % AUDIT_CAPACITY]!;
      if (profile === undefined || r.profile === profile) entries.push(this.entry(r));
    }
    return entries.slice(-last);
  }

  private lastOf(run: unknown): AuditRecord | undefined {
    const serial = this.runs.get(run);
    if (serial === undefined) return undefined;
    const r = this.ring[serial % AUDIT_CAPACITY]!;
    return r.serial === serial ? r : undefined;
  }

  private flush(): void {
    this.flushTimer = undefined;
    for (const r of this.ring) if (r.count > r.logged) this.logRepeats(r);
  }

  private logRepeats(r: AuditRecord): void {
    const repeats = r.count - r.logged;
    r.logged = r.count;
    this.log.info({ ...this.fields(r), repeats }, 'token.get repeated');
  }

  private fields(r: AuditRecord): Record<string, unknown> {
    const { profile, kind, audience, scope, pid, uid, exe, via, outcome, reason } = r;
    return { profile, kind, audience, scope, pid, uid, exe, via, outcome, reason };
  }

  private entry(r: AuditRecord): AuditEntry {
    const entry: AuditEntry = {
      time: r.time / 1000,
      profile: r.profile,
      kind: r.kind,
      pid: r.pid,
      uid: r.uid,
      exe: r.exe,
      via: r.via,
      outcome: r.outcome,
      count: r.count,
    };
    if (r.count > 1) entry.last_time = r.lastTime / 1000;
    if (r.audience !== undefined) entry.audience = r.audience;
    if (r.scope !== undefined) entry.scope = r.scope;
    if (r.reason !== undefined) entry.reason = r.reason;
    return entry;
  }
}
