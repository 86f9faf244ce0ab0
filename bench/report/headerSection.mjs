// The top of RESULTS.md: what was run, and on what (the machine, the tools, the other load).
import { fmt } from './markdown.mjs';

/** CPU taken by processes outside this run (e.g. a test suite running meanwhile). */
function otherLoad(R) {
  const u = R.cpuUse ?? {};
  const pct = (a) => (a ? `${fmt(a.otherPct)}%` : 'n/a');
  const loadAverage = (R.machine.loadAverage ?? []).map((l) => l.toFixed(2)).join(' ');
  const text =
    `CPU used by processes outside this run, % of one core: before start ${pct(u.before)}, ` +
    `socket benchmarks ${pct(u.throughput)}, CLI benchmarks ${pct(u.cli)}, ` +
    `whole steady part ${pct(u.stable)}; load average at start ${loadAverage}`;
  const kept = Object.values(R.throughput)
    .flat()
    .map((r) => r.otherPct)
    .filter(Number.isFinite);
  const text2 = kept.length
    ? `${text}. Measurements disturbed by more than 15% are repeated (at most twice): ` +
      `the worst kept socket measurement had ${fmt(Math.max(...kept))}%, ` +
      `the worst kept hyperfine round ${fmt(u.cliKept)}%`
    : text;
  const noisy = kept.some((o) => o > 15) || u.cliKept > 15;
  return noisy ? `${text2} — **other processes were busy: expect noise**` : text2;
}

export function headerSection(R, line, table) {
  const M = R.machine;
  line('# kms-agent vs oidc-agent: benchmark results');
  line();
  line(
    `Written by \`npm run bench\` (bench/run.mjs) on ${M.date.slice(0, 10)}; ` +
      `the whole run took ${fmt(R.wallS)} s. ` +
      'Both agents ran on this machine in the same run, against the same local OpenID provider ' +
      '(oidc-provider on loopback), for the same user. Every figure is the median of the ' +
      'repetitions, and each ratio compares two numbers from this run (measurements of the two ' +
      'agents alternate, so both see the same machine). ' +
      'Raw data: `results.json` and `hyperfine.json`.' +
      (M.quick ? ' **BENCH_QUICK=1: shortened smoke run, not for comparison.**' : ''),
  );
  line();
  line('## Machine');
  line();
  const keyring = R.store === 'keychain' ? ' (a private D-Bus session with gnome-keyring)' : '';
  table(
    ['', ''],
    [
      ['CPU', `${M.cpus} cores, ${M.cpuModel}`],
      ['memory', `${fmt(M.memoryGiB, 1)} GiB`],
      ['kernel', M.kernel],
      ['node / npm', `${M.node} / ${M.npm}`],
      ['oidc-agent', `${M.oidcAgent} (Debian package, own socket and HOME, plain JSON IPC)`],
      ['hyperfine', M.hyperfine],
      [
        'kms-agent',
        `${M.kmsAgent}, commit ${M.commit}; refresh tokens in: ${R.kmsStore}${keyring}`,
      ],
      ['date', M.date],
      ['other load', otherLoad(R)],
    ],
  );
}
