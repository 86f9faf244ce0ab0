// "Cost over time": what each agent costs idle right after login, and its RSS after many
// requests.
import { ratio } from '../lib/stats.mjs';
import { fmt, x } from './markdown.mjs';

function idleTable(R, line, table) {
  const I = R.idle;
  line(
    `Idle (no request for ${fmt(I.kms.windowS, 0)} s, right after login): RSS from ` +
      '/proc/PID/status, CPU from the per-thread schedstat sums (ns) and /proc/PID/stat ticks, ' +
      'wake-ups = voluntary context switches.',
  );
  line();
  const row = (label, a) => [
    label,
    `${a.processes} / ${a.threads}`,
    `${fmt(a.rssMiB, 1)} MiB`,
    `${fmt(a.cpuPct, 3)}%`,
    `${fmt(a.cpuTicksSeconds, 2)} s`,
    fmt(a.wakeupsPerSec, 1),
  ];
  table(
    ['agent', 'processes / threads', 'RSS', 'CPU', 'CPU ticks in window', 'wake-ups/s'],
    [
      row('kms-agent', I.kms),
      row('oidc-agent', I.oidc),
      ['ratio', '', x(ratio(I.kms.rssMiB, I.oidc.rssMiB), 1), '', '', ''],
    ],
  );
}

function memoryTable(R, line, table) {
  const Mm = R.memory;
  const growth = (m) => `${fmt(((m.after - m.before) * 1e6) / m.requests, 2)} MiB`;
  const row = (label, m, perMillion = true) => [
    label,
    fmt(m.requests),
    `${fmt(m.tokensPerSec)}/s`,
    `${fmt(m.before, 1)} MiB`,
    `${fmt(m.after, 1)} MiB`,
    `${fmt(m.settled, 1)} MiB`,
    `${fmt(m.after - m.before, 2)} MiB`,
    perMillion ? growth(m) : '—',
  ];
  line(
    'Memory after many requests (kms-agent warmed up with 100,000 requests first; "settled" is ' +
      '3 s after each part):',
  );
  line();
  const oneShot = 'one request per connection (8 clients)';
  const rss = ['RSS before', 'RSS after', 'settled', 'growth', 'growth per million'];
  table(
    ['run', 'requests', 'rate', ...rss],
    [
      ...Mm.kmsPipe.map((m, i) =>
        row(`kms-agent, pipelined (50 connections × 16), part ${i + 1}`, m),
      ),
      ...Mm.kmsConn.map((m, i) => row(`kms-agent, ${oneShot}, part ${i + 1}`, m, false)),
      ...Mm.oidcConn.map((m, i) => row(`oidc-agent, ${oneShot}, part ${i + 1}`, m, false)),
    ],
  );
  line(
    'RSS alone cannot tell the heap sizing itself from a leak; the live heap after forced full ' +
      'GCs (section "RSS growth per million requests" below) can, for both kinds of load.',
  );
  line();
}

export function costOverTimeSection(R, line, table) {
  line('## Cost over time');
  line();
  idleTable(R, line, table);
  memoryTable(R, line, table);
}
