import type { CachedTokens } from './tokenCache.js';

export interface TargetCacheLimits {
  /** Most targets kept per profile; the least recently used goes first. */
  maxEntries?: number;
  /** A target no client asked for in this long is dropped. */
  idleMs?: number;
  /** The clock, in Unix ms (tests pass their own). */
  now?: () => number;
}

const DEFAULT_MAX_ENTRIES = 32;
const DEFAULT_IDLE_MS = 15 * 60_000;

/**
 * The scope/audience tokens of one profile. Clients may ask for any number of targets, so the
 * cache is bounded in count and forgets idle targets on a timer: memory stays bounded and tokens
 * nobody uses do not linger in the daemon.
 */
export class TargetCache {
  private readonly entries = new Map<string, CachedTokens>();
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(limits: TargetCacheLimits = {}) {
    this.maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.idleMs = limits.idleMs ?? DEFAULT_IDLE_MS;
    this.now = limits.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedTokens | undefined {
    return this.entries.get(key);
  }

  /** Stores a target's fresh tokens; the entry counts as used now. */
  set(key: string, entry: CachedTokens): void {
    entry.lastUsedMs = this.now();
    this.entries.set(key, entry);
    this.sweep();
  }

  /** Drops idle targets, then the least recently used ones beyond the limit. */
  sweep(): void {
    const idleSince = this.now() - this.idleMs;
    for (const [key, entry] of this.entries)
      if (entry.lastUsedMs <= idleSince) this.entries.delete(key);
    while (this.entries.size > this.maxEntries) {
      let oldest: [string, number] | undefined;
      for (const [key, entry] of this.entries)
        if (!oldest || entry.lastUsedMs < oldest[1]) oldest = [key, entry.lastUsedMs];
      this.entries.delete(oldest![0]);
    }
    this.scheduleSweep();
  }

  clear(): void {
    this.entries.clear();
    clearTimeout(this.sweepTimer);
  }

  private scheduleSweep(): void {
    clearTimeout(this.sweepTimer);
    if (this.entries.size === 0) return;
    let oldestUse = Infinity;
    for (const entry of this.entries.values()) oldestUse = Math.min(oldestUse, entry.lastUsedMs);
    const dueMs = Math.max(1000, oldestUse + this.idleMs - this.now() + 1);
    this.sweepTimer = setTimeout(() => this.sweep(), dueMs).unref();
  }
}
