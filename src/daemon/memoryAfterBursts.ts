import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A burst: this many requests since the last time memory was given back. */
const BURST_REQUESTS = 10_000;
/** Quiet for this long after a burst: the burst is over. */
const QUIET_MS = 2_000;

/**
 * Gives a burst's memory back once it is over (a flood, a storm of clients). V8 hands freed pages
 * back through its memory reducer, which a full garbage collection starts; a burst that ended
 * without one left an idle agent holding a flood's 60 MiB (test/reliability/badInput.test.mjs saw
 * 120 MiB, flat, for 45 s). After BURST_REQUESTS requests, a timer checks every QUIET_MS whether
 * any came meanwhile; once none did, one full collection, and the reducer returns the pages some
 * 10 s later. The hot path only counts; an idle agent has no timer.
 */
export class MemoryAfterBursts {
  private requests = 0;
  private seenAtCheck = 0;
  private timer: NodeJS.Timeout | undefined;

  /** One request answered. */
  served(): void {
    if (++this.requests >= BURST_REQUESTS && this.timer === undefined) this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.seenAtCheck = this.requests;
    this.timer = setTimeout(() => this.check(), QUIET_MS).unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.requests !== this.seenAtCheck) {
      this.arm();
      return;
    }
    this.requests = 0;
    fullGc();
  }
}

let collect: (() => void) | undefined;

/** V8's own gc(), which Node exposes only behind a flag: set once per process, when first needed. */
function fullGc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
