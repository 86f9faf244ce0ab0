// "Against a baseline build": the table of bench/compare/ (one figure per build, the ratio
// current ÷ baseline, and the goal the issues set), when the run had a baseline or a row of its
// own.
import { fmt, verdict, x } from './markdown.mjs';

/** A figure with its unit. */
function figure(v, unit, digits = 1) {
  if (!Number.isFinite(v)) return '—';
  if (unit === '×') return x(v, digits);
  if (unit === '/s') return `${fmt(v, digits)}/s`;
  return unit ? `${fmt(v, digits)} ${unit}` : fmt(v, digits);
}

export function compareSection(R, line, table) {
  const { builds, table: rows } = R.compare;
  const names = Object.keys(builds);
  const label = (name) => `${name} (${builds[name].commit})`;
  const baseline = builds.baseline;
  line(baseline ? '## Against a baseline build' : '## Ratios within the current build');
  line();
  if (baseline) {
    line(
      `The current build (${builds.current.commit}) against a build of ${baseline.commit} ` +
        '(`BENCH_BASELINE`, bench/lib/baselineBuild.mjs), in the same run: each build has a ' +
        'kms-agent of its own (its own directory and keyring, logged in on the same provider), ' +
        'and every measurement alternates the order of the builds from one round to the next ' +
        '(bench/compare/). A ratio below 1 is a lower figure in the current build: better for ' +
        'times and memory, worse for rates. A verdict takes the figures as they are, without a ' +
        'noise margin: two builds of the same code differ by the noise of the machine.',
    );
    line();
  }
  const head = ['measure', ...names.map(label)];
  if (baseline) head.push('current ÷ baseline');
  head.push('goal', 'verdict');
  const row = (r) => [
    r.what,
    ...names.map((n) => figure(r.values[n], r.unit, r.digits)),
    ...(baseline ? [r.ratio === null ? '—' : x(r.ratio, 3)] : []),
    r.goal ?? '',
    r.met === null ? '' : verdict(r.met),
  ];
  table(head, rows.map(row));
}
