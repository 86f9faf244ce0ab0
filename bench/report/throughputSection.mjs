// "Tokens per second over the socket": the rates of both agents by concurrency (and the chart),
// their sensitivity to background load, latency, and the CPU the agents used meanwhile.
import { cellMedian, median, ratio } from '../lib/stats.mjs';
import { fmt, x } from './markdown.mjs';

function intro(P, line) {
  line(
    `${P.reps} repetitions of ${P.windowMs / 1000} s (after ${P.warmupMs} ms of warm-up) per ` +
      'cell; the token is cached (no provider call). *One request per connection*: N client ' +
      'threads each connect, send one request, read the answer and hang up, in a loop ' +
      '(bench/lib/connload.c, blocking sockets, the way N concurrent `oidc-token` / ' +
      '`kms-agent token` processes use an agent; oidc-agent listens with a backlog of 5, and a ' +
      'blocking connect simply waits). oidc-agent gets ' +
      '`{"request":"access_token","account":…,"min_valid_period":60}` (its documented IPC ' +
      'request, unencrypted; `oidc-token` itself first runs a libsodium key exchange, which ' +
      'only costs more), kms-agent `token.get {profile, kind:"access"}`. *Persistent* / ' +
      '*pipelined*: N connections kept open, each with 1 or ' +
      `${P.pipeDepth} requests in flight (bench/lib/loadgen.mjs). ` +
      'Ratios are against oidc-agent at the same concurrency.',
  );
  line();
}

function sensitivity(R, line) {
  const tp = (key, c) => cellMedian(R.throughput, key, c);
  const b = (k) => median(R.busy[k].map((r) => r.tokensPerSec));
  const kms8 = tp('kms-conn', 8);
  const oidc8 = tp('oidc-conn', 8);
  line(
    '**Sensitivity to background load.** The 8-client one-shot cells again, with two ' +
      '`nice -n 19` busy loops running: ' +
      `oidc-agent ${fmt(b('oidc-conn'))}/s (${x(ratio(b('oidc-conn'), oidc8))} its rate without ` +
      `them), kms-agent ${fmt(b('kms-conn'))}/s (${x(ratio(b('kms-conn'), kms8))}); ` +
      `ratio kms/oidc ${x(ratio(b('kms-conn'), b('oidc-conn')))} instead of ` +
      `${x(ratio(kms8, oidc8))}. ` +
      'oidc-agent passes each request through two processes (4 wake-ups per request) and is ' +
      'limited by scheduling latency rather than CPU, so its one-shot rate swings with ' +
      'whatever else runs on this 2-vCPU VM, in either direction (while this bench was being ' +
      'built, 12,000–30,000/s at 8 clients); kms-agent is CPU-bound here and loses what the ' +
      'spinners take. ' +
      'Read the one-shot ratios with that spread in mind; the pipelined ratios are far outside it.',
  );
  line();
}

function latencyAndCpu(R, line, table) {
  const P = R.parameters;
  const tp = (key, c, field) => cellMedian(R.throughput, key, c, field);
  line(
    'Latency per request, p50 / p99 (ms; pipelined latency includes the wait behind the ' +
      'requests ahead on the same connection):',
  );
  line();
  const latency = (k, c) => `${fmt(tp(k, c, 'p50Ms'), 3)} / ${fmt(tp(k, c, 'p99Ms'), 3)}`;
  const modes = ['oidc-conn', 'kms-conn', 'kms-persistent', 'kms-pipe'];
  table(
    [
      'clients',
      'oidc-agent (1 per conn.)',
      'kms-agent (1 per conn.)',
      'kms-agent (persistent)',
      'kms-agent (pipelined)',
    ],
    P.concurrency.map((c) => [String(c), ...modes.map((k) => latency(k, c))]),
  );
  line(
    'CPU during those runs, % of one core (server: all its processes and threads, user + ' +
      'system; client: the load generator):',
  );
  line();
  const server = (k, c) =>
    `${fmt(tp(k, c, 'serverCpuPct'))}% (${fmt(tp(k, c, 'serverSysPct'))}% sys)`;
  const client = (c) =>
    ['oidc-conn', 'kms-conn', 'kms-pipe'].map((k) => `${fmt(tp(k, c, 'clientCpuPct'))}%`);
  table(
    [
      'clients',
      'oidc-agent server',
      'kms-agent server (1 per conn.)',
      'kms-agent server (pipelined)',
      'client (oidc / kms 1 per conn. / kms pipelined)',
    ],
    P.concurrency.map((c) => [
      String(c),
      server('oidc-conn', c),
      server('kms-conn', c),
      server('kms-pipe', c),
      client(c).join(' / '),
    ]),
  );
}

export function throughputSection(R, line, table) {
  const P = R.parameters;
  const tp = (key, c) => cellMedian(R.throughput, key, c);
  line('## Tokens per second over the socket');
  line();
  intro(P, line);
  line('![tokens per second vs concurrent clients](tokens-per-second.svg)');
  line();
  const cell = (key, c, o, digits) => `${fmt(tp(key, c))}/s (${x(ratio(tp(key, c), o), digits)})`;
  table(
    [
      'clients',
      'oidc-agent (1 per connection)',
      'kms-agent (1 per connection)',
      'kms-agent (persistent)',
      `kms-agent (pipelined ×${P.pipeDepth})`,
    ],
    P.concurrency.map((c) => {
      const o = tp('oidc-conn', c);
      return [
        String(c),
        `${fmt(o)}/s`,
        cell('kms-conn', c, o, 2),
        cell('kms-persistent', c, o, 1),
        cell('kms-pipe', c, o, 1),
      ];
    }),
  );
  if (R.busy) sensitivity(R, line);
  latencyAndCpu(R, line, table);
}
