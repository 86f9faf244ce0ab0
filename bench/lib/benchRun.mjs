// The life of one bench run: progress lines on stderr with the time since the start, and the
// cleanups of everything it started (by pid), run once on success, failure, a signal, or when
// the run goes over its time budget.
export function benchRun({ name = 'bench', budgetMs }) {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s`;
  const say = (msg) => process.stderr.write(`[${name} ${elapsed()}] ${msg}\n`);
  const cleanups = [];
  let cleaning;

  /** Runs the cleanups, last registered first; a failing one is reported and the rest go on. */
  function cleanup() {
    cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (err) {
          say(`cleanup: ${err.message}`);
        }
      }
    })();
    return cleaning;
  }

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      say(`${signal}: stopping everything`);
      void cleanup().then(() => process.exit(130));
    });
  }
  if (budgetMs) {
    const watchdog = setTimeout(() => {
      say(`over the ${(budgetMs / 60_000).toFixed(1)}-minute budget: stopping`);
      void cleanup().then(() => process.exit(1));
    }, budgetMs);
    watchdog.unref();
  }
  return {
    say,
    cleanups,
    cleanup,
    wallSeconds: () => (performance.now() - t0) / 1000,
  };
}
