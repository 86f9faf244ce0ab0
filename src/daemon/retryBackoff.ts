/**
 * When to try an unreachable provider again. Background refreshes wait 1 s, 2 s, 4 s … up to
 * 30 s after consecutive failures, each ±20 % so that many agents (or profiles) that failed
 * together do not retry together. A client that asks for a token is never refused because of
 * that schedule: its request waits for the next attempt, and attempts are at most one per second,
 * shared by every waiting client (docs/SECURITY.md).
 */
export class RetryBackoff {
  private failures = 0;
  private notBeforeMs = 0;
  private lastFailedAttemptMs: number | undefined;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 30_000,
    private readonly jitter = 0.2,
    private readonly random: () => number = Math.random,
    private readonly minGapMs = 1000,
  ) {}

  /** Milliseconds until a background attempt may go out; 0 when it may go now. */
  waitMs(nowMs = Date.now()): number {
    return Math.max(0, this.notBeforeMs - nowMs);
  }

  /** Milliseconds until an attempt for a waiting client may go out: at most one per second after a failure. */
  clientWaitMs(nowMs = Date.now()): number {
    return this.lastFailedAttemptMs === undefined
      ? 0
      : Math.max(0, this.lastFailedAttemptMs + this.minGapMs - nowMs);
  }

  failed(nowMs = Date.now()): void {
    this.failures++;
    this.lastFailedAttemptMs = nowMs;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
    this.notBeforeMs = nowMs + delay * (1 + this.jitter * (2 * this.random() - 1));
  }

  succeeded(): void {
    this.failures = 0;
    this.notBeforeMs = 0;
    this.lastFailedAttemptMs = undefined;
  }
}
