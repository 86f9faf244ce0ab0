// The rows of the comparison of builds, in the order they run. Each row is one module exporting
//   { key, title, needsBaseline?, measure(subjects, ctx), lines(data) }
// - measure: runs on every build of the run (subjects: [{ name, build, kms, keyring }], the
//   current build first, the baseline second when BENCH_BASELINE asks for one), interleaved so
//   that each build sees the same machine; returns plain data (results.json `compare.rows[key]`).
//   ctx has P and C (bench/lib/parameters.mjs), dir, say, quiet, tools (the load generators),
//   oidc (the run's oidc-agent), provider and redirectUrl, cleanups.
// - lines: how the data reads, one figure per build (bench/compare/rowLines.mjs).
// A row with needsBaseline runs only when there is a baseline; one without it runs in every
// `npm run bench`, for the current build alone (a ratio within one build).
//
// Adding a row is one module and one entry here. A row that measures what only the current build
// has (issue 23's) takes subjects[0] and sets up its own agent.
import { clientCredentialsRate } from './clientCredentialsRate.mjs';
import { dpopCost } from './dpopCost.mjs';
import { idleRss } from './idleRss.mjs';
import { oneShotThroughput } from './oneShotThroughput.mjs';
import { peerCredentials } from './peerCredentials.mjs';
import { pipelinedThroughput } from './pipelinedThroughput.mjs';
import { startTimes } from './startTimes.mjs';
import { tokenWallTime } from './tokenWallTime.mjs';

export const COMPARISON_ROWS = [
  { ...tokenWallTime, needsBaseline: true },
  { ...startTimes, needsBaseline: true },
  { ...idleRss, needsBaseline: true },
  { ...pipelinedThroughput, needsBaseline: true },
  { ...oneShotThroughput, needsBaseline: true },
  dpopCost,
  clientCredentialsRate,
  peerCredentials,
];
