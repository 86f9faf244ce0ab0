// The comparison of builds in one run: a kms-agent of each build (buildSandboxes.mjs), then every
// row of comparisonRows.mjs that applies, then the table of figures, ratios (current ÷ baseline)
// and verdicts that results.json and RESULTS.md show.
import { entryNames } from '../lib/buildEntries.mjs';
import { startBuildSandboxes, stopBuildSandboxes, subjectPids } from './buildSandboxes.mjs';
import { COMPARISON_ROWS } from './comparisonRows.mjs';
import { tableRow } from './rowLines.mjs';

/** The rows that run with these builds; none at all is possible (no baseline, no other row). */
export const rowsFor = (builds) =>
  COMPARISON_ROWS.filter((r) => !r.needsBaseline || builds.length > 1);

/**
 * `builds`: the current build first ({ name: 'current', commit, … }), then the baseline if any.
 * `ctx`: see comparisonRows.mjs. Returns plain data for results.json, or null with no rows.
 */
export async function compareBuilds(ctx, builds) {
  const rows = rowsFor(builds);
  if (rows.length === 0) return null;
  const { say, quiet } = ctx;
  say(`compare: ${builds.map((b) => `${b.name} ${b.commit}`).join(' vs ')}, ${rows.length} rows`);
  const subjects = await startBuildSandboxes({ ...ctx, builds });
  const forget = quiet.addPids(() => subjectPids(subjects));
  const data = {};
  try {
    for (const row of rows) {
      say(`compare: ${row.title}`);
      data[row.key] = await row.measure(subjects, ctx);
    }
  } finally {
    forget();
    await stopBuildSandboxes(subjects);
  }
  const table = rows.flatMap((row) => row.lines(data[row.key]).map((l) => tableRow(row.key, l)));
  const described = (b) => [b.name, { commit: b.commit, entries: entryNames(b) }];
  return { builds: Object.fromEntries(builds.map(described)), rows: data, table };
}
