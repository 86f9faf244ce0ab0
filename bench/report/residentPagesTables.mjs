// Where the idle agents' memory differs from the bare process's: the node binary's resident
// pages by the symbols they hold, and anonymous memory by kind (bench/lib/residentPages.mjs).
import { fmt } from './markdown.mjs';

/** Rows of one part: MiB of bare and of each agent, with the agent's difference to bare. */
function rowsOf(profiles, part) {
  const maps = profiles.map((p) => new Map(p[part]));
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))];
  const values = keys
    .map((k) => [k, ...maps.map((m) => m.get(k) ?? 0)])
    .filter(([, ...v]) => Math.max(...v) >= 0.05);
  values.sort((p, q) => q[2] - q[1] - (p[2] - p[1]));
  const total = ['**total**', ...maps.map((m) => [...m.values()].reduce((a, b) => a + b, 0))];
  const diff = (v, b) => `${fmt(v, 2)} (${v - b >= 0 ? '+' : ''}${fmt(v - b, 2)})`;
  return [...values, total].map(([k, b, ...a]) => [k, fmt(b, 2), ...a.map((v) => diff(v, b))]);
}

export function residentPagesTables(F, line, table) {
  const { bare } = F.profiles;
  const agents = ['file', 'keychain'].filter((k) => F.profiles[k]?.binary);
  if (!bare?.binary || agents.length === 0) {
    const why = bare?.error ?? F.profiles.file?.error ?? 'not measured';
    line(`(No resident-page profile: ${why}.)`);
    line();
    return;
  }
  const profiles = [bare, ...agents.map((k) => F.profiles[k])];
  line(
    'Where the difference is (the agents as `kms-agent start` launches them, against the bare ' +
      `process, at ${fmt((3 * F.idleMs) / 1000)} s): the node binary's resident pages attributed ` +
      'to the symbols they hold ' +
      '(nm of the binary, /proc/PID/pagemap; code shared with every other Node process, but ' +
      'counted in RSS), and anonymous memory by kind of mapping (bench/lib/residentPages.mjs). ' +
      'MiB, and the difference to bare:',
  );
  line();
  const head = (what) => [what, 'bare', ...agents.map((k) => `kms-agent, ${k} store`)];
  table(head('node binary, resident pages'), rowsOf(profiles, 'binary'));
  table(head('anonymous memory'), rowsOf(profiles, 'anonymous'));
  table(head('other files'), rowsOf(profiles, 'other'));
}
