/**
 * When to try an unreachable provider again: 1 s, 2 s, 4 s … up to 30 s after consecutive
 * failures, each ±20 % so that many agents (or profiles) that failed together do not retry together.
 * Until then, requests fail fast instead of each waiting for the provider's timeout.
 */
export class RetryBackoff {
  private failures = 0;
  private notBeforeMs = 0;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 30_000,
    private readonly jitter = 0.2,
    private readonly random: () => number = Math.random,
  ) {}

  /** Milliseconds until the next attempt may go out; 0 when it may go now. */
  waitMs(nowMs = Date.now()): number {
    return Math.max(0, this.notBeforeMs - nowMs);
  }

  failed(nowMs = Date.now()): void {
    this.failures++;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (this.failures - 1));
    this.notBeforeMs = nowMs + delay * (1 + this.jitter * (2 * this.random() - 1));
  }

  succeeded(): void {
    this.failures = 0;
    this.notBeforeMs = 0;
  }
}
