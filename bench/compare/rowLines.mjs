// How a comparison row's figures read: each line is one figure per build ({ current, baseline }),
// with its unit, which way is better, and the goal the issues set for it, if any. compareBuilds
// turns the lines into the table of results.json and RESULTS.md, with ratios and verdicts.

/** { build name: data[build name][field] }. */
export const pick = (data, field) =>
  Object.fromEntries(Object.entries(data).map(([name, d]) => [name, d[field]]));

/** A time in ms, lower is better. */
export const timeLine = (what, values, goal) => ({
  what,
  unit: 'ms',
  digits: 1,
  better: 'lower',
  values,
  goal,
});

const worseBy = (v, better, share) =>
  better === 'lower' ? v.current > (1 + share) * v.baseline : v.current < (1 - share) * v.baseline;

/** The current build no worse than the baseline (`better`: 'lower' or 'higher'). */
export const noWorse = (text) => ({ text, needsBaseline: true, met: (v, b) => !worseBy(v, b, 0) });
/** The current build within `share` (e.g. 0.05) of the baseline, in the bad direction. */
export const within = (share, text) => ({
  text,
  needsBaseline: true,
  met: (v, b) => !worseBy(v, b, share),
});
/** The current build's figure at most / at least `limit`. */
export const atMost = (limit, text) => ({
  text,
  needsBaseline: false,
  met: (v) => v.current <= limit,
});
export const atLeast = (limit, text) => ({
  text,
  needsBaseline: false,
  met: (v) => v.current >= limit,
});

/** A line, measured: its ratio (current ÷ baseline) and verdict, as plain data. */
export function tableRow(rowKey, line) {
  const { what, unit, digits, better, values, goal } = line;
  const hasCurrent = Number.isFinite(values.current);
  const hasBaseline = Number.isFinite(values.baseline);
  const both = hasCurrent && hasBaseline && values.baseline !== 0;
  const ratio = both ? values.current / values.baseline : null;
  const judged = goal && hasCurrent && (hasBaseline || !goal.needsBaseline);
  const met = judged ? goal.met(values, better) : null;
  return { row: rowKey, what, unit, digits, better, values, ratio, goal: goal?.text ?? null, met };
}
