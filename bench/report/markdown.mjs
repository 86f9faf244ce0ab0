// Writing RESULTS.md: a Markdown text built line by line, and how figures are printed in it.

/** A number with thousands separators and a fixed number of decimals, or 'n/a'. */
export const fmt = (v, digits = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
/** A ratio: `1.23×`. */
export const x = (r, digits = 2) => (Number.isFinite(r) ? `${r.toFixed(digits)}×` : 'n/a');
export const ms = (v, digits = 1) => (Number.isFinite(v) ? `${fmt(v, digits)} ms` : 'n/a');
export const mib = (v) => `${fmt(v, 1)} MiB`;
export const verdict = (ok) => (ok ? '**met**' : '**missed**');

/**
 * A Markdown text being written: `line` adds a line, `table` a table whose first column is text
 * and the others figures.
 */
export function markdownText() {
  const lines = [];
  const line = (s = '') => lines.push(s);
  const table = (head, rows) => {
    line(`| ${head.join(' | ')} |`);
    line(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const r of rows) line(`| ${r.join(' | ')} |`);
    line();
  };
  return { line, table, text: () => lines.join('\n') };
}
