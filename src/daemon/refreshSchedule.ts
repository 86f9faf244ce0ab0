import { firstToExpire, type CachedTokens } from './tokenCache.js';

/** setTimeout's limit: a longer delay fires at once (a provider's 10¹² s lifetime did that). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a profile's main token should be refreshed in the background: ahead of the first of its
 * tokens to expire, by its default min_valid plus a margin, so clients rarely wait; not before the
 * access token is half used (docs/protocol.md).
 */
export function backgroundDelayMs(entry: CachedTokens, nowMs = Date.now()): number {
  const first = firstToExpire(entry);
  const margin = Math.min(30, Math.max(1, first.lifetime * 0.1));
  const dueMs = (first.expiresAt - first.defaultMinValid - margin) * 1000 - nowMs;
  return Math.max(1000, dueMs, entry.noRefreshBefore * 1000 - nowMs);
}

/** One timer, never longer than the platform allows: a clamped timer fires early, and its callback aims again. */
export class RefreshTimer {
  private timer: NodeJS.Timeout | undefined;

  arm(delayMs: number, fire: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fire, Math.min(MAX_TIMER_MS, delayMs)).unref();
  }

  /** True when a timer armed for `delayMs` would have been clamped: the callback came early. */
  static clamped(delayMs: number): boolean {
    return delayMs > MAX_TIMER_MS;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
