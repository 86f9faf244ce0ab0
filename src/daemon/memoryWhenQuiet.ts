import { trimCHeap } from '../os/libc.js';

/** A burst: this many requests since the last time memory was given back. */
const BURST_REQUESTS = 10_000;
/** Quiet for this long after a burst: the burst is over. */
const QUIET_MS = 2_000;

/**
 * Gives memory back once the agent goes quiet. After a burst of requests (a flood, a storm of
 * clients): one full garbage collection, as V8 hands freed pages back through its memory reducer,
 * which a full collection starts, and a burst that ended without one left an idle agent holding a
 * flood's 60 MiB (test/reliability/badInput.test.mjs saw 120 MiB, flat, for 45 s). After that, and
 * when the keychain's thread stops: malloc_trim, so that what the C heap freed (buffers, the
 * thread's own allocations) goes back to the system instead of staying with glibc: 0.5 MiB of an
 * idle agent with the keychain store (bench/compare/idleRss.mjs), more after a flood
 * (test/cHeapTrim.test.mjs). After a burst, a timer checks every QUIET_MS whether requests
 * came meanwhile. The hot path only counts; an idle agent has no timer. Memory is the process's:
 * every socket server (the agent's, each delegated one) counts into the one `processMemory`.
 */
export class MemoryWhenQuiet {
  private requests = 0;
  private seenAtCheck = 0;
  private timer: NodeJS.Timeout | undefined;

  /** One request answered. */
  served(): void {
    if (++this.requests >= BURST_REQUESTS && this.timer === undefined) this.arm();
  }

  /** A thread ended (the keychain's, idle): what its allocator kept goes back to the system. */
  threadEnded(): void {
    trimCHeap();
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
    void fullGc().then(trimCHeap);
  }
}

export const processMemory = new MemoryWhenQuiet();

let collect: (() => void) | undefined;

/**
 * V8's own gc(), which Node exposes only behind a flag: set once per process, when first needed.
 * node:v8 and node:vm are loaded then too: an agent that never saw a burst never loads them.
 */
async function fullGc(): Promise<void> {
  if (collect === undefined) {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
