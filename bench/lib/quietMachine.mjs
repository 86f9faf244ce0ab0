// Measuring on a shared machine: wait for other processes to calm down before a sensitive
// phase, and measure again when they took CPU meanwhile, within one waiting allowance for the
// whole run.
import { startAccounting } from './cpuAccounting.mjs';
import { sleep } from './processControl.mjs';

/**
 * The pids whose CPU is this run's own are given once the agents run (setOurPids), and more for
 * a while (addPids, which returns the function that takes them away again).
 */
export function quietGate(say, allowanceMs = 120_000) {
  let base = () => [];
  const extra = new Set();
  const ourPids = () => [...base(), ...[...extra].flatMap((fn) => fn())];
  let left = allowanceMs;

  /** Waits while other processes keep more than 20% of a core busy; returns the last share. */
  async function waitQuiet(label, pidsFn = ourPids) {
    let other = 0;
    for (;;) {
      const probe = startAccounting(pidsFn());
      await sleep(700);
      other = probe.stop().otherPct;
      if (other < 20 || left <= 0) return other;
      const share = other.toFixed(0);
      const waitLeft = Math.round(left / 1000);
      say(`${label}: other processes use ${share}% of a core, waiting (${waitLeft} s left)`);
      await sleep(3000);
      left -= 3700;
    }
  }

  /**
   * Runs a measurement; when other processes took more than 15% of a core meanwhile, waits for
   * quiet and measures again (at most twice, within the allowance). The other load of the kept
   * attempt is recorded with the result.
   */
  async function undisturbed(label, measure) {
    for (let attempt = 0; ; attempt++) {
      const acct = startAccounting(ourPids());
      const t = performance.now();
      const result = await measure();
      const otherPct = acct.stop().otherPct;
      if (otherPct < 15 || attempt >= 2 || left <= 0) {
        result.otherPct = otherPct;
        return result;
      }
      left -= performance.now() - t;
      const share = otherPct.toFixed(0);
      say(`${label}: other processes took ${share}% of a core meanwhile: measuring again`);
      await waitQuiet(label);
    }
  }

  return {
    waitQuiet,
    undisturbed,
    ourPids,
    setOurPids(fn) {
      base = fn;
    },
    addPids(fn) {
      extra.add(fn);
      return () => extra.delete(fn);
    },
  };
}

/**
 * Before the run: waits up to about a minute (not in a quick run) for a machine whose other
 * processes use less than 25% of a core. Returns the accounting of the last second.
 */
export async function waitForQuietStart(quick, say) {
  for (let attempt = 0; ; attempt++) {
    const probe = startAccounting([]);
    await sleep(1000);
    const before = probe.stop();
    if (before.otherPct < 25 || attempt >= (quick ? 0 : 12)) {
      if (before.otherPct >= 25) {
        const share = before.otherPct.toFixed(0);
        say(`warning: other processes keep ${share}% of a core busy; results will be noisy`);
      }
      return before;
    }
    if (attempt === 0) {
      const share = before.otherPct.toFixed(0);
      say(`other processes use ${share}% of a core: waiting up to 60 s for a quieter machine`);
    }
    await sleep(4000);
  }
}
