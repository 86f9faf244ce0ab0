// Small statistics helpers: every figure in RESULTS.md is a median over repetitions.

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile of an unsorted numeric array (p in 0..100). */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const v = Float64Array.from(values).sort();
  const rank = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[rank];
}

export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);

/** The median of one throughput cell's repetitions (`key@c`), of a field of the load's result. */
export const cellMedian = (throughput, key, c, field = 'tokensPerSec') =>
  median(throughput[`${key}@${c}`].map((r) => r[field]));
