// The sizes of a bench run. BENCH_QUICK=1 shortens every phase (a smoke run of the bench itself;
// its numbers are not for RESULTS.md). BENCH_DIAGNOSE=1 runs the profiles and diagnoses even for
// targets that are met.
export const QUICK = process.env.BENCH_QUICK === '1';
export const DIAGNOSE = process.env.BENCH_DIAGNOSE === '1';

export const PARAMETERS = {
  concurrency: [1, 8, 50, 200],
  reps: QUICK ? 1 : 3,
  warmupMs: QUICK ? 200 : 400,
  windowMs: QUICK ? 700 : 2000,
  pipeDepth: 16,
  hyperfineRuns: QUICK ? 10 : 60,
  hyperfineRounds: QUICK ? 2 : 3,
  hyperfineWarmup: QUICK ? 2 : 5,
  storms: QUICK ? 1 : 3,
  stormClients: 1000,
  stormTtl: 6,
  idleMs: QUICK ? 2000 : 10_000,
  million: QUICK ? 100_000 : 1_000_000,
  memorySegments: 3,
  churn: QUICK ? 20_000 : 250_000,
  coldRuns: QUICK ? 2 : 5,
  floorIdleMs: QUICK ? 3000 : 10_000,
  floorStartupRounds: QUICK ? 2 : 5,
  clientProfiles: QUICK ? 3 : 15,
  budgetMs: 9.5 * 60_000,
};

/** The comparison of builds (bench/compare/), when a baseline is asked for. */
export const COMPARE_PARAMETERS = {
  reps: QUICK ? 1 : 3,
  startRounds: QUICK ? 2 : 5,
  idleMs: QUICK ? 3000 : 10_000,
  concurrency: [8, 50],
  /** What the comparison adds to the run's budget (issue 23's two rows take about 30 s). */
  budgetMs: 4.5 * 60_000,
};
