// The targets of issue 15, each a ratio of two measurements of the run with its verdict: the
// idle daemon against a bare Node process, and what earlier work bought kept.
import { cellMedian, ratio } from '../lib/stats.mjs';
import { fmt, mib, verdict, x } from './markdown.mjs';

/** Idle RSS, threads, start-up and wake-ups against the bare process. */
function idleRows(R, met) {
  const F = R.floor;
  const I = F.idle;
  const bare = I.bare;
  const s = (n) => fmt((n * F.idleMs) / 1000);
  const stores = ['file', 'keychain'].filter((k) => I[k]);
  const rss = stores.map((k) => ({
    k,
    r: ratio(I[k].rssMiB, bare.rssMiB),
    settled: ratio(I[k].settledRssMiB, bare.settledRssMiB),
  }));
  met.idleRss = rss.every((r) => r.r <= 1.2);
  const rssText = (r) =>
    `${r.k}: ${x(r.r)} (${mib(I[r.k].rssMiB)} vs ${mib(bare.rssMiB)}), ` +
    `${x(r.settled)} at ${s(3)} s`;
  // A store in use may add its own thread (the keychain's); none may stay once it is idle.
  met.threads = stores.every((k) => I[k].threads <= bare.threads);
  const threads = stores.map((k) => `${k} ${I[k].threads}`).join(', ');
  const recommended = stores.map((k) => `${k} ${I[`${k}Recommended`]?.threads ?? 'n/a'}`);
  const S = F.startup;
  const vsBare = (v) => x(ratio(v.medianMs, S.bare.medianMs));
  met.startup = ratio(S.cli.medianMs, S.bare.medianMs) <= 1.5;
  met.wakeups = stores.every((k) => I[k].idleWakeupsPerSec === 0);
  const idle = stores.map((k) => `${k} ${fmt(I[k].idleWakeupsPerSec, 1)}/s`).join(', ');
  const shrink = (k) =>
    `${k} ${fmt(I[k].burstWakeupsPerSec, 1)}/s and ${fmt(I[k].settleWakeupsPerSec, 1)}/s`;
  return [
    [
      'idle RSS (logged in, 200 tokens served, 10 s idle) ≤ 1.2× a bare `node` listening on a ' +
        'Unix socket, file and keychain store',
      rss.map(rssText).join('; '),
      verdict(met.idleRss),
    ],
    [
      'threads ≤ the bare process, plus what a store in use needs (none for a store not in use)',
      `bare ${bare.threads}; ${threads}; with the recommended flags ${recommended.join(', ')}`,
      verdict(met.threads),
    ],
    [
      '`kms-agent start` until the socket answers ≤ 1.5× ' +
        "a bare Node server's start to listening",
      `${vsBare(S.cli)} (${fmt(S.cli.medianMs, 1)} vs ${fmt(S.bare.medianMs, 1)} ms); ` +
        `the daemon alone ${vsBare(S.daemon)}, ` +
        `with the recommended flags ${vsBare(S.daemonRecommended)}`,
      verdict(met.startup),
    ],
    [
      'idle wake-ups: none except scheduled refreshes (voluntary context switches of all ' +
        `threads, ${s(3)}–${s(4)} s after the last request)`,
      `${idle} (bare ${fmt(bare.idleWakeupsPerSec, 1)}/s); before that, the GCs that shrink the ` +
        `heap: ${stores.map(shrink).join(', ')} (0–${s(1)} s and ${s(1)}–${s(3)} s)`,
      verdict(met.wakeups),
    ],
  ];
}

/** What earlier work bought: throughput, the CLI, the storms, RSS growth. */
function keptRows(R, met) {
  const tp = (key, c) => cellMedian(R.throughput, key, c);
  const pipe = [8, 50].map((c) => ({ c, r: ratio(tp('kms-pipe', c), tp('oidc-conn', c)) }));
  met.pipelined = pipe.every((p) => p.r >= 15);
  const ceiling = (R.ceiling ?? R.profiles.daemon?.ceiling)?.oneProcess;
  const oneShot = tp('kms-conn', 8);
  met.oneShot = ratio(oneShot, ceiling) >= 0.8;
  const { kms, raw } = R.cli;
  met.cli = ratio(kms.medianMs, raw.medianMs) <= 1.05;
  const storms = R.targets.stormRefreshes;
  return [
    [
      'pipelined tokens/s ≥ 15× oidc-agent (8 and 50 clients)',
      pipe.map((p) => `${p.c} clients: ${x(p.r, 1)}`).join(', '),
      verdict(met.pipelined),
    ],
    [
      'one request per connection ≥ 0.8× the bare Node server ceiling (8 clients)',
      `${x(ratio(oneShot, ceiling))} (${fmt(oneShot)} vs ${fmt(ceiling)} tokens/s)`,
      verdict(met.oneShot),
    ],
    [
      '`kms-agent token` ≤ 1.05× the minimal one-file Node client (bench/probes/raw-token.cjs)',
      `${x(ratio(kms.medianMs, raw.medianMs))} ` +
        `(${fmt(kms.medianMs, 1)} vs ${fmt(raw.medianMs, 1)} ms)`,
      verdict(met.cli),
    ],
    [
      'storms: exactly 1 refresh',
      `${storms.join(', ')} refresh(es) in ${storms.length} storm(s)`,
      verdict(R.met.storm),
    ],
    [
      'RSS growth < 5 MiB per million requests',
      `median ${fmt(R.targets.rssGrowthPerMillion, 2)} MiB per million`,
      verdict(R.met.rss),
    ],
  ];
}

/** The ratios of issue 15, each with its verdict: { rows, met }. */
export function floorTargets(R) {
  const met = {};
  const rows = [...idleRows(R, met), ...keptRows(R, met)];
  return { rows, met };
}
