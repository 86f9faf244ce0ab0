// Writes bench/RESULTS.md and bench/tokens-per-second.svg from the results of one run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, ratio } from './stats.mjs';
import { tokenFilesMarkdown } from '../tokenFiles.mjs';
import { floorSection, floorTargets, markdownText } from './reportFloor.mjs';

const fmt = (x, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const x = (r, digits = 2) => (Number.isFinite(r) ? `${r.toFixed(digits)}×` : 'n/a');
const ms = (v, digits = 1) => (Number.isFinite(v) ? `${fmt(v, digits)} ms` : 'n/a');
const verdict = (ok) => (ok ? '**met**' : '**missed**');

export function writeReport(results, benchDir) {
  writeFileSync(join(benchDir, 'RESULTS.md'), markdown(results));
  writeFileSync(join(benchDir, 'tokens-per-second.svg'), svg(results));
}

/** CPU taken by processes outside this run (e.g. a test suite running meanwhile). */
function otherLoad(R) {
  const u = R.cpuUse ?? {};
  const pct = (a) => (a ? `${fmt(a.otherPct)}%` : 'n/a');
  const text = `CPU used by processes outside this run, % of one core: before start ${pct(u.before)}, socket benchmarks ${pct(u.throughput)}, CLI benchmarks ${pct(u.cli)}, whole steady part ${pct(u.stable)}; load average at start ${(R.machine.loadAverage ?? []).map((l) => l.toFixed(2)).join(' ')}`;
  const kept = Object.values(R.throughput).flat().map((r) => r.otherPct).filter(Number.isFinite);
  const text2 = kept.length
    ? `${text}. Measurements disturbed by more than 15% are repeated (at most twice): the worst kept socket measurement had ${fmt(Math.max(...kept))}%, the worst kept hyperfine round ${fmt(u.cliKept)}%`
    : text;
  const noisy = kept.some((o) => o > 15) || u.cliKept > 15;
  return noisy ? `${text2} — **other processes were busy: expect noise**` : text2;
}

function tp(results, key, c, field = 'tokensPerSec') {
  return median(results.throughput[`${key}@${c}`].map((r) => r[field]));
}

function markdown(R) {
  const { machine: M, parameters: P, cli, targets: T, met } = R;
  const { line, table, text } = markdownText();

  line('# kms-agent vs oidc-agent: benchmark results');
  line();
  line(
    `Written by \`npm run bench\` (bench/run.mjs) on ${M.date.slice(0, 10)}; the whole run took ${fmt(R.wallS)} s. ` +
      'Both agents ran on this machine in the same run, against the same local OpenID provider (oidc-provider on ' +
      'loopback), for the same user. Every figure is the median of the repetitions, and each ratio compares two ' +
      'numbers from this run (measurements of the two agents alternate, so both see the same machine). ' +
      'Raw data: `results.json` and `hyperfine.json`.' + (M.quick ? ' **BENCH_QUICK=1: shortened smoke run, not for comparison.**' : ''),
  );
  line();
  line('## Machine');
  line();
  table(['', ''], [
    ['CPU', `${M.cpus} cores, ${M.cpuModel}`],
    ['memory', `${fmt(M.memoryGiB, 1)} GiB`],
    ['kernel', M.kernel],
    ['node / npm', `${M.node} / ${M.npm}`],
    ['oidc-agent', `${M.oidcAgent} (Debian package, own socket and HOME, plain JSON IPC)`],
    ['hyperfine', M.hyperfine],
    ['kms-agent', `${M.kmsAgent}, commit ${M.commit}; refresh tokens in: ${R.kmsStore}${R.store === 'keychain' ? ' (a private D-Bus session with gnome-keyring)' : ''}`],
    ['date', M.date],
    ['other load', otherLoad(R)],
  ]);

  // ---- targets ----
  line('## Targets');
  line();
  line('Issue 15: the idle daemon near Node\'s own floor, without losing what earlier work bought. Each figure is a ratio of two measurements of this run.');
  line();
  table(['target', 'measured', 'verdict'], floorTargets(R).rows);
  line('Earlier targets (issue 5), kept for comparison; the causes of their misses are [below](#where-targets-are-missed-causes-with-evidence):');
  line();
  const stormOk = met.storm;
  table(['target', 'measured', 'verdict'], [
    [
      'tokens/s with 8 and 50 clients ≥ 3× oidc-agent — one request per connection, as oidc-agent works',
      T.throughputConn.map((t) => `${t.c} clients: ${x(t.ratio)}`).join(', '),
      verdict(met.throughputConn),
    ],
    [
      'the same, with kms-agent clients on persistent pipelined connections (oidc-agent cannot)',
      T.throughputPipe.map((t) => `${t.c} clients: ${x(t.ratio, 1)}`).join(', '),
      verdict(met.throughputPipe),
    ],
    ["`kms-agent token` wall time ≤ 1.15× `node -e ''`", `${x(T.cliRatio)} (${ms(cli.kms.medianMs)} vs ${ms(cli.node.medianMs)})`, verdict(met.cli)],
    ['exactly 1 provider refresh per storm of 1,000 concurrent requests at expiry', `${T.stormRefreshes.join(', ')} refresh(es) in ${T.stormRefreshes.length} storm(s)`, verdict(stormOk)],
    [
      'RSS growth < 5 MiB per million requests',
      `median ${fmt(T.rssGrowthPerMillion, 2)} MiB per million over ${T.rssGrowthPerMillionBySegment.length} consecutive runs of ${fmt(R.parameters.million)} pipelined requests (each: ${T.rssGrowthPerMillionBySegment.map((g) => fmt(g, 1)).join(', ')} MiB)`,
      verdict(met.rss),
    ],
  ]);

  // ---- throughput ----
  line('## Tokens per second over the socket');
  line();
  line(
    `${P.reps} repetitions of ${P.windowMs / 1000} s (after ${P.warmupMs} ms of warm-up) per cell; the token is cached ` +
      '(no provider call). *One request per connection*: N client threads each connect, send one request, read the ' +
      'answer and hang up, in a loop (bench/lib/connload.c, blocking sockets, the way N concurrent `oidc-token` / ' +
      '`kms-agent token` processes use an agent; oidc-agent listens with a backlog of 5, and a blocking connect simply ' +
      'waits). oidc-agent gets `{"request":"access_token","account":…,"min_valid_period":60}` (its documented IPC ' +
      'request, unencrypted; `oidc-token` itself first runs a libsodium key exchange, which only costs more), kms-agent ' +
      '`token.get {profile, kind:"access"}`. *Persistent* / *pipelined*: N connections kept open, each with 1 or ' +
      `${P.pipeDepth} requests in flight (bench/lib/loadgen.mjs). Ratios are against oidc-agent at the same concurrency.`,
  );
  line();
  line('![tokens per second vs concurrent clients](tokens-per-second.svg)');
  line();
  table(
    ['clients', 'oidc-agent (1 per connection)', 'kms-agent (1 per connection)', 'kms-agent (persistent)', `kms-agent (pipelined ×${P.pipeDepth})`],
    P.concurrency.map((c) => {
      const o = tp(R, 'oidc-conn', c);
      return [
        String(c),
        `${fmt(o)}/s`,
        `${fmt(tp(R, 'kms-conn', c))}/s (${x(ratio(tp(R, 'kms-conn', c), o))})`,
        `${fmt(tp(R, 'kms-persistent', c))}/s (${x(ratio(tp(R, 'kms-persistent', c), o), 1)})`,
        `${fmt(tp(R, 'kms-pipe', c))}/s (${x(ratio(tp(R, 'kms-pipe', c), o), 1)})`,
      ];
    }),
  );
  if (R.busy) {
    const b = (k, f = 'tokensPerSec') => median(R.busy[k].map((r) => r[f]));
    line(
      `**Sensitivity to background load.** The 8-client one-shot cells again, with two \`nice -n 19\` busy loops running: ` +
        `oidc-agent ${fmt(b('oidc-conn'))}/s (${x(ratio(b('oidc-conn'), tp(R, 'oidc-conn', 8)))} its rate without them), kms-agent ${fmt(b('kms-conn'))}/s ` +
        `(${x(ratio(b('kms-conn'), tp(R, 'kms-conn', 8)))}); ratio kms/oidc ${x(ratio(b('kms-conn'), b('oidc-conn')))} instead of ${x(ratio(tp(R, 'kms-conn', 8), tp(R, 'oidc-conn', 8)))}. ` +
        'oidc-agent passes each request through two processes (4 wake-ups per request) and is limited by scheduling latency rather than CPU, so its one-shot rate swings with ' +
        'whatever else runs on this 2-vCPU VM, in either direction (while this bench was being built, 12,000–30,000/s at 8 clients); kms-agent is CPU-bound here and loses what the spinners take. ' +
        'Read the one-shot ratios with that spread in mind; the pipelined ratios are far outside it.',
    );
    line();
  }
  line('Latency per request, p50 / p99 (ms; pipelined latency includes the wait behind the requests ahead on the same connection):');
  line();
  table(
    ['clients', 'oidc-agent (1 per conn.)', 'kms-agent (1 per conn.)', 'kms-agent (persistent)', 'kms-agent (pipelined)'],
    P.concurrency.map((c) => [
      String(c),
      ...['oidc-conn', 'kms-conn', 'kms-persistent', 'kms-pipe'].map((k) => `${fmt(tp(R, k, c, 'p50Ms'), 3)} / ${fmt(tp(R, k, c, 'p99Ms'), 3)}`),
    ]),
  );
  line('CPU during those runs, % of one core (server: all its processes and threads, user + system; client: the load generator):');
  line();
  table(
    ['clients', 'oidc-agent server', 'kms-agent server (1 per conn.)', 'kms-agent server (pipelined)', 'client (oidc / kms 1 per conn. / kms pipelined)'],
    P.concurrency.map((c) => [
      String(c),
      `${fmt(tp(R, 'oidc-conn', c, 'serverCpuPct'))}% (${fmt(tp(R, 'oidc-conn', c, 'serverSysPct'))}% sys)`,
      `${fmt(tp(R, 'kms-conn', c, 'serverCpuPct'))}% (${fmt(tp(R, 'kms-conn', c, 'serverSysPct'))}% sys)`,
      `${fmt(tp(R, 'kms-pipe', c, 'serverCpuPct'))}% (${fmt(tp(R, 'kms-pipe', c, 'serverSysPct'))}% sys)`,
      `${fmt(tp(R, 'oidc-conn', c, 'clientCpuPct'))}% / ${fmt(tp(R, 'kms-conn', c, 'clientCpuPct'))}% / ${fmt(tp(R, 'kms-pipe', c, 'clientCpuPct'))}%`,
    ]),
  );

  // ---- CLI ----
  line('## CLI: one token per process (hyperfine)');
  line();
  line(
    `\`hyperfine --shell=none --warmup ${P.hyperfineWarmup} --export-json\`, ${P.hyperfineRounds} rounds of ${Math.ceil(P.hyperfineRuns / P.hyperfineRounds)} runs per command (order reversed every other round, times pooled: ${cli.node.runs} runs each); \`kms-agent token\` is ` +
      '`node dist/client/bin.cjs token` (the `kms-agent` bin), printing the profile\'s default token; ' +
      '`oidc-token bench` is oidc-agent\'s C client. The probes split the client\'s cost (they are not products).',
  );
  line();
  const cliRow = (k) => [
    cli[k].label,
    ms(cli[k].medianMs),
    `${ms(cli[k].meanMs)} ± ${fmt(cli[k].stddevMs, 1)}`,
    ms(cli[k].minMs),
    `${fmt(cli[k].userMs, 1)} / ${fmt(cli[k].systemMs, 1)}`,
    x(ratio(cli[k].medianMs, cli.node.medianMs)),
  ];
  table(['command', 'median', 'mean ± σ', 'min', 'user / sys (ms)', "vs `node -e ''`"], ['node', 'kms', 'oidc', 'net', 'imports', 'raw'].filter((k) => cli[k]).map(cliRow));
  if (cli.nodeCa && cli.kmsCa) {
    line(
      `This machine sets \`NODE_EXTRA_CA_CERTS\` in the environment; every Node process then reads and parses that bundle at start-up. ` +
        `With it, \`node -e ''\` takes ${ms(cli.nodeCa.medianMs)} and \`kms-agent token\` ${ms(cli.kmsCa.medianMs)}: ${x(ratio(cli.kmsCa.medianMs, cli.nodeCa.medianMs))}. ` +
        'The same absolute overhead looks smaller next to a slower start, which is why a ratio near 1.4× was seen before; the table above and the target use a clean environment (Node\'s own start).',
    );
    line();
  }
  line(
    `\`kms-agent token\` is ${x(ratio(cli.kms.medianMs, cli.oidc.medianMs), 0)} \`oidc-token\`'s time: Node's own start ` +
      `(${ms(cli.node.medianMs)}) is ${x(ratio(cli.node.medianMs, cli.oidc.medianMs), 0)} a whole oidc-token call.`,
  );
  line();

  if (R.tokenFiles) tokenFilesMarkdown(R.tokenFiles, line, table);

  // ---- storm ----
  line('## Refresh storm');
  line();
  line(
    `A second provider issues tokens that live ${P.stormTtl} s. Once the agent's token has expired (no request in between), ` +
      `${fmt(P.stormClients)} client threads connect at once and each asks for a token (one request per connection). ` +
      'Provider refreshes are counted at the provider\'s token endpoint, per client, between the first connect and the last answer. ' +
      'kms-agent writes a rotated refresh token to its store before it answers anyone.',
  );
  line();
  const stormRows = [];
  for (const agent of ['kms', 'oidc']) {
    R.stormRuns[agent].forEach((r, i) =>
      stormRows.push([
        `${agent === 'kms' ? 'kms-agent' : 'oidc-agent'} #${i + 1}`,
        `${r.requests} / ${P.stormClients}`,
        String(r.errors),
        String(r.refreshes),
        ms(r.elapsedMs, 0),
        `${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)}`,
      ]),
    );
  }
  table(['storm', 'answered', 'errors', 'provider refreshes', 'until all answered', 'latency p50 / p99 (ms)'], stormRows);
  const stormMed = (a) => median(R.stormRuns[a].map((r) => r.elapsedMs));
  line(`Median time until all ${fmt(P.stormClients)} are answered: kms-agent ${ms(stormMed('kms'), 0)}, oidc-agent ${ms(stormMed('oidc'), 0)} (${x(ratio(stormMed('kms'), stormMed('oidc')))}).`);
  line();

  // ---- cost over time ----
  line('## Cost over time');
  line();
  const I = R.idle;
  line(`Idle (no request for ${fmt(I.kms.windowS, 0)} s, right after login): RSS from /proc/PID/status, CPU from the per-thread schedstat sums (ns) and /proc/PID/stat ticks, wake-ups = voluntary context switches.`);
  line();
  table(['agent', 'processes / threads', 'RSS', 'CPU', 'CPU ticks in window', 'wake-ups/s'], [
    ['kms-agent', `${I.kms.processes} / ${I.kms.threads}`, `${fmt(I.kms.rssMiB, 1)} MiB`, `${fmt(I.kms.cpuPct, 3)}%`, `${fmt(I.kms.cpuTicksSeconds, 2)} s`, fmt(I.kms.wakeupsPerSec, 1)],
    ['oidc-agent', `${I.oidc.processes} / ${I.oidc.threads}`, `${fmt(I.oidc.rssMiB, 1)} MiB`, `${fmt(I.oidc.cpuPct, 3)}%`, `${fmt(I.oidc.cpuTicksSeconds, 2)} s`, fmt(I.oidc.wakeupsPerSec, 1)],
    ['ratio', '', x(ratio(I.kms.rssMiB, I.oidc.rssMiB), 1), '', '', ''],
  ]);
  const Mm = R.memory;
  const memRow = (label, m, perMillion = true) => [label, fmt(m.requests), `${fmt(m.tokensPerSec)}/s`, `${fmt(m.before, 1)} MiB`, `${fmt(m.after, 1)} MiB`, `${fmt(m.settled, 1)} MiB`, `${fmt(m.after - m.before, 2)} MiB`, perMillion ? `${fmt(((m.after - m.before) * 1e6) / m.requests, 2)} MiB` : '—'];
  line('Memory after many requests (kms-agent warmed up with 100,000 requests first; "settled" is 3 s after each part):');
  line();
  table(['run', 'requests', 'rate', 'RSS before', 'RSS after', 'settled', 'growth', 'growth per million'], [
    ...Mm.kmsPipe.map((m, i) => memRow(`kms-agent, pipelined (50 connections × 16), part ${i + 1}`, m)),
    ...Mm.kmsConn.map((m, i) => memRow(`kms-agent, one request per connection (8 clients), part ${i + 1}`, m, false)),
    ...Mm.oidcConn.map((m, i) => memRow(`oidc-agent, one request per connection (8 clients), part ${i + 1}`, m, false)),
  ]);
  line('RSS alone cannot tell the heap sizing itself from a leak; the live heap after forced full GCs (section "RSS growth per million requests" below) can, for both kinds of load.');
  line();

  floorSection(R, line, table);

  // ---- cold start ----
  line('## Cold start');
  line();
  const C = R.cold;
  const cm = (a, k) => median(C[a].map((r) => r[k]));
  line(
    `From nothing running to the first token, ${C.kms.length} times each. kms-agent: \`kms-agent start\` (returns once the daemon ` +
      `listens), then \`token.get\`: the daemon reads the login from its store (${R.store}) and refreshes at the provider. oidc-agent: ` +
      '`oidc-agent` (daemonises), `oidc-add --pw-env bench` (decrypts the account file, refreshes), `oidc-token bench`.',
  );
  line();
  table(['agent', 'agent listening', 'first token', 'ratio'], [
    ['kms-agent', ms(cm('kms', 'startMs')), ms(cm('kms', 'firstTokenMs')), x(ratio(cm('kms', 'firstTokenMs'), cm('oidc', 'firstTokenMs')))],
    ['oidc-agent', `${ms(cm('oidc', 'startMs'))} (+ oidc-add: ${ms(cm('oidc', 'addMs'))})`, ms(cm('oidc', 'firstTokenMs')), '1.00×'],
  ]);

  // ---- causes ----
  const anyMissed = !(met.throughputConn && met.cli && met.storm && met.rss);
  if (anyMissed || R.profiles.daemon || R.profiles.client || R.profiles.memory) {
    line(anyMissed ? '## Where targets are missed: causes, with evidence' : '## Diagnostics');
    line();
  }
  if (R.profiles.daemon) causesThroughput(R, line, table);
  if (R.profiles.client) causesCli(R, line, table);
  if (!met.storm) {
    line('### Refresh storm');
    line();
    line(`Provider refreshes per storm: ${T.stormRefreshes.join(', ')}; answered: ${R.stormRuns.kms.map((r) => r.requests).join(', ')} of ${P.stormClients}; first error: ${R.stormRuns.kms.find((r) => r.firstError)?.firstError ?? 'none'}.`);
    line();
  }
  if (!met.rss || R.profiles.memory) causesMemory(R, line, table);

  line('## How to run');
  line();
  line('`npm run bench` (builds, then `node bench/run.mjs`; never part of `npm test`). `bench/setup.sh` installs oidc-agent, hyperfine and a C compiler when missing (run.mjs calls it). `BENCH_QUICK=1` for a short smoke run, `BENCH_DIAGNOSE=1` profiles even the targets that are met, `BENCH_KEEP=1` keeps the temporary directory (agent logs, CPU profiles, heap snapshots). Files: bench/run.mjs (phases), bench/lib/agents.mjs (the two private agents and the keyring), bench/lib/connload.c (one-request-per-connection load, blocking C threads), bench/lib/loadgen.mjs (persistent and pipelined load), bench/lib/report.mjs (this file and the chart), bench/lib/idleFloor.mjs, residentPages.mjs and reportFloor.mjs (the idle daemon against a bare node), bench/probes/ (the CLI probes), bench/tokenFiles.mjs (the token-file section; `node bench/tokenFiles.mjs` runs it alone, after `npm run build`, and rewrites this file with it). `node bench/floor.mjs` re-runs only the floor comparison (about a minute); `node bench/flags.mjs` compares sets of Node/V8 flags for the daemon (throughput, RSS growth, idle RSS, threads; `BENCH_FLAG_SETS` to choose them).');
  line();
  return text();
}

function causesThroughput(R, line, table) {
  const D = R.profiles.daemon;
  const P = R.parameters;
  const c8 = {
    kms: tp(R, 'kms-conn', 8),
    oidc: tp(R, 'oidc-conn', 8),
    kmsCpu: tp(R, 'kms-conn', 8, 'serverCpuPct'),
    kmsSys: tp(R, 'kms-conn', 8, 'serverSysPct'),
    oidcCpu: tp(R, 'oidc-conn', 8, 'serverCpuPct'),
    pipe: tp(R, 'kms-pipe', 8),
    pipeCpu: tp(R, 'kms-pipe', 8, 'serverCpuPct'),
    persistent: tp(R, 'kms-persistent', 8),
  };
  const usPerConn = (c8.kmsCpu / 100 / c8.kms) * 1e6;
  const usSysPerConn = (c8.kmsSys / 100 / c8.kms) * 1e6;
  const usPerPiped = (c8.pipeCpu / 100 / c8.pipe) * 1e6;
  const usOidc = (c8.oidcCpu / 100 / c8.oidc) * 1e6;
  line(`### Tokens/s with one request per connection (target: 3× oidc-agent${R.met.throughputConn ? ', met' : ''})`);
  line();
  line(
    `**What limits kms-agent:** its single JavaScript thread is saturated by connection handling, not by serving tokens. ` +
      `With 8 clients the daemon's main thread ran at ${fmt(D.mainThread.user * 100)}% user + ${fmt(D.mainThread.sys * 100)}% system of one core ` +
      `(other threads: ${fmt((D.otherThreads.user + D.otherThreads.sys) * 100)}%), for ${fmt(D.unprofiledTokensPerSec)} tokens/s: ` +
      `about ${fmt(usPerConn)} µs of CPU per request, ${fmt(usSysPerConn)} µs of it in the kernel. The same token.get on a connection ` +
      `that stays open costs about ${fmt(usPerPiped, 1)} µs (${fmt(c8.pipe)} tokens/s pipelined at ${fmt(c8.pipeCpu)}% CPU; ` +
      `${fmt(c8.persistent)} tokens/s with one request in flight per connection), so roughly ${fmt(usPerConn - usPerPiped)} µs of every ` +
      'one-shot request is the connection itself: accept4, a new net.Socket (a Duplex stream with its state objects and listeners), ' +
      'epoll registration, and the shutdown/close when the client hangs up. ' +
      `oidc-agent spends about ${fmt(usOidc)} µs of CPU per request across its two processes, at ${fmt(c8.oidcCpu)}% of a core` +
      (c8.oidcCpu < 90
        ? ': it is not CPU-bound but bounded by its serial hand-off (socket process → oidcd over a pipe and back, one request at a time), so more clients do not make it faster.'
        : '.'),
  );
  line();
  if (R.syscalls.kms && R.syscalls.oidc) {
    line('System calls per one-shot request (`strace -c -f` on the agent, 5,000 requests, 8 clients; strace slows both, counts are exact):');
    line();
    const names = [...new Set([...Object.keys(R.syscalls.kms.perRequest), ...Object.keys(R.syscalls.oidc.perRequest)])];
    table(['syscall', 'kms-agent', 'oidc-agent'], [
      ...names.map((n) => [n, fmt(R.syscalls.kms.perRequest[n] ?? 0, 2), fmt(R.syscalls.oidc.perRequest[n] ?? 0, 2)]),
      ['**total**', fmt(R.syscalls.kms.total, 1), fmt(R.syscalls.oidc.total, 1)],
    ]);
  }
  line(
    `\`node --cpu-prof\` of the daemon (${fmt(D.load.tokensPerSec)} tokens/s under the profiler, 8 clients, one request per connection, ${fmt(D.load.elapsedMs / 1000, 0)} s), self time by category ` +
      '("idle / native I/O" is time in libuv\'s poll phase outside JavaScript: epoll, accept4, read, close — kernel work for a saturated server):',
  );
  line();
  table(['category', 'share'], D.categories.slice(0, 10).map((c) => [c.name, `${fmt(c.share * 100, 1)}%`]));
  line('Top functions by self time (excluding idle):');
  line();
  table(['function', 'share'], D.functions.filter((f) => !/^\((idle|root)\)/.test(f.name)).slice(0, 15).map((f) => [`\`${f.name}\``, `${fmt(f.share * 100, 1)}%`]));
  const budget = 1e6 / (3 * c8.oidc);
  line(
    `**So:** at about ${fmt(usPerConn)} µs of CPU per connection, one Node thread tops out near ${fmt(1e6 / usPerConn)} one-shot tokens/s on this machine. ` +
      `3× oidc-agent at 8 clients is ${fmt(3 * c8.oidc)} tokens/s, a budget of ${fmt(budget)} µs per connection on one core` +
      (budget < usSysPerConn
        ? `, less than the ${fmt(usSysPerConn)} µs the kernel alone spends per connection now. `
        : `, of which the kernel already takes ${fmt(usSysPerConn)} µs. `) +
      '`writeUtf8String` at the top is the reply\'s write(2) (the copy into the peer socket and waking the client), `close`/`Socket`/`Duplex`/`ReadableState` are the socket\'s life cycle; ' +
      'kms-agent\'s own code is a few per cent. The request path is not the problem, the connection per request is.',
  );
  line();
  const C = D.ceiling;
  if (C) {
    const kept = ['kms-persistent', 'kms-pipe'].flatMap((k) => [8, 50].map((c) => ratio(tp(R, k, c), tp(R, 'oidc-conn', c))));
    const idleRatio = ratio(R.idle.kms.rssMiB, R.idle.oidc.rssMiB);
    table(['server, 8 clients, one request per connection', 'tokens/s', 'vs oidc-agent'], [
      ['oidc-agent', fmt(c8.oidc), '1.00×'],
      ['kms-agent (the daemon)', fmt(c8.kms), x(ratio(c8.kms, c8.oidc))],
      [`bare Node server: node:net, a fixed ${fmt(C.replyBytes)}-byte reply, nothing else (bench/probes/bare-server.cjs)`, fmt(C.oneProcess), x(ratio(C.oneProcess, c8.oidc))],
      ['the same bare server in 2 processes sharing the socket (cluster, SCHED_NONE)', fmt(C.twoProcesses), x(ratio(C.twoProcesses, c8.oidc))],
    ]);
    line(
      `**The ceiling, measured in this run:** a Node server that does nothing but answer reaches ${x(ratio(C.oneProcess, c8.oidc))} oidc-agent in one process, ` +
        `so no single-process Node daemon can reach 3× with one request per connection on this machine; kms-agent runs at ${fmt((100 * c8.kms) / C.oneProcess)}% of that ceiling. ` +
        `Two processes sharing the socket reach ${x(ratio(C.twoProcesses, c8.oidc))} while doing nothing at all, with the load generator competing for the same 2 vCPUs. ` +
        'A daemon split into acceptor processes would also have to share the token cache and the single-flight refresh across processes, ' +
        `and would add a second Node heap to an idle footprint that is already ${x(idleRatio, 0)} oidc-agent's, for a gain that only a synthetic one-shot flood sees: a shell script ` +
        `pays Node's start (tens of ms) per \`kms-agent token\`, and a service that needs many tokens keeps its connection (the persistent and pipelined columns: ${x(Math.min(...kept), 0)}–${x(Math.max(...kept), 0)} oidc-agent). ` +
        'So kms-agent stays one process; what was changed is the per-request path (answered synchronously, without json-rpc-2.0\'s promises, when the token is cached).',
    );
    line();
  }
}

function causesMemory(R, line, table) {
  const Mm = R.memory;
  const G = R.profiles.memory;
  line(`### RSS growth per million requests (target < 5 MiB${R.met.rss ? ', met' : ''})`);
  line();
  const first = Mm.kmsPipe[0];
  const last = Mm.kmsPipe.at(-1);
  line(
    `RSS growth per million pipelined requests, in ${Mm.kmsPipe.length} consecutive runs of ${fmt(R.parameters.million)}: ${R.targets.rssGrowthPerMillionBySegment.map((g) => `${g >= 0 ? '+' : ''}${fmt(g, 1)}`).join(', ')} MiB ` +
      `(${fmt(first.before, 1)} MiB before the first, ${fmt(last.after, 1)} MiB after the last, peak ${fmt(Math.max(...Mm.kmsPipe.map((m) => m.hwm)), 1)} MiB).`,
  );
  line();
  if (!G) return;
  line(
    `The same workloads on a daemon started with \`node --trace-gc --heapsnapshot-signal\`: warmed up with 100,000 requests, then two rounds of ${fmt(R.parameters.million)} pipelined requests and two of ${fmt(R.parameters.churn / 2)} one-per-connection requests; ` +
      'after each, a heap snapshot forces a full GC while no request is in flight, so the heap left after it is what the daemon really retains (RSS in this table includes what writing the snapshots took):',
  );
  line();
  table(['after', 'requests', 'rate', 'RSS', 'minor / full GCs during the round', 'garbage per request', 'live heap after a forced full GC'], [
    ['warm-up', '100,000', '', '', '', '', `${fmt(G.liveAtStart, 1)} MB`],
    ...G.segments.map((g, i) => [
      `round ${i + 1} (${g.load ?? 'pipelined'})`,
      fmt(g.requests),
      `${fmt(g.tokensPerSec)}/s`,
      `${fmt(g.rssAtEnd, 1)} MiB`,
      `${g.minorGcs} / ${g.fullGcs}`,
      `≈ ${fmt(g.bytesAllocatedPerRequest)} bytes`,
      `${fmt(g.liveAfterForcedGcMB, 1)} MB`,
    ]),
  ]);
  const live = [G.liveAtStart, ...G.segments.map((g) => g.liveAfterForcedGcMB)];
  const retainedPerMillion = ((live.at(-1) - live[0]) / G.segments.reduce((a, g) => a + g.requests, 0)) * 1e6;
  const flat = live.every(Number.isFinite) && Math.abs(retainedPerMillion) < 1;
  const total = G.segments.reduce((a, g) => a + g.requests, 0);
  const garbage = fmt(G.segments[0].bytesAllocatedPerRequest);
  const conn = G.segments.find((g) => g.load === 'one per connection');
  const connGarbage = conn ? fmt(conn.bytesAllocatedPerRequest) : undefined;
  const levers =
    'allocate less per request (serialise a cached token\'s reply once) and/or bound the young generation (`--max-semi-space-size`) in the daemon\'s spawn arguments.';
  if (!flat) {
    line(`**So:** the live heap after forced full GCs grows (${live.map((v) => fmt(v, 1)).join(' → ')} MB, ${fmt(retainedPerMillion, 2)} MB per million requests): something is retained per request; comparing two of the heap snapshots (kept with BENCH_KEEP=1) shows what.`);
  } else {
    line(
      `**So:** nothing is retained: the live heap after a forced full GC is ${live.map((v) => fmt(v, 1)).join(' → ')} MB across ${fmt(total)} requests (${fmt(retainedPerMillion, 2)} MB per million). ` +
        `RSS follows V8's GC schedule, not the request count: each pipelined token.get leaves about ${garbage} bytes of garbage (the parsed request, the response object and the reply string; a cached token is answered synchronously, without the promises json-rpc-2.0's server allocated per request before)${connGarbage ? `, one on a connection of its own about ${connGarbage} bytes` : ''}; ` +
        'full collections are rare at this rate, and the heap pages committed between them count in RSS, so one run of a million can show several MiB up or down. ' +
        (R.met.rss
          ? `Within the target in this run; what would make RSS steadier still: ${levers}`
          : `What would bring it under the target: ${levers}`),
    );
  }
  line();
}

function causesCli(R, line, table) {
  const { cli } = R;
  const Cp = R.profiles.client;
  const net = cli.net.medianMs - cli.node.medianMs;
  const ours = cli.imports.medianMs - cli.net.medianMs;
  const request = cli.kms.medianMs - cli.imports.medianMs;
  line(`### \`kms-agent token\` vs \`node -e ''\` (target ≤ 1.15×${R.met.cli ? ', met' : ''})`);
  line();
  line(
    `\`kms-agent token\` takes ${ms(cli.kms.medianMs)}, ${fmt(cli.kms.medianMs - cli.node.medianMs, 1)} ms more than \`node -e ''\` (${ms(cli.node.medianMs)}); ` +
      `1.15× allows ${fmt(0.15 * cli.node.medianMs, 1)} ms. The probes split the difference (medians, same run):`,
  );
  line();
  table(['step', 'cost', 'measured as'], [
    ['loading node:net (and with it the stream stack)', ms(net), "net-only.cjs − `node -e ''`"],
    [`the token path's own files${Cp?.modules ? ` (${Cp.modules.filter((m) => /\.(m?js|cjs)$/.test(m)).length}, CommonJS)` : ''}`, ms(ours), 'import-client.cjs − net-only.cjs'],
    ['connect, token.get, print, exit', ms(request), '`kms-agent token` − import-client.cjs'],
    ['**a minimal client** (one file, node:net only, same request)', `${ms(cli.raw.medianMs)} total, ${x(ratio(cli.raw.medianMs, cli.node.medianMs))}`, 'raw-token.cjs'],
  ]);
  if (Cp?.modules) {
    line(`Files \`kms-agent token\` loads from the repository (strace -e openat): ${Cp.modules.map((m) => `\`${m}\``).join(', ')}.`);
    line();
  }
  if (Cp) {
    line(`\`node --cpu-prof --cpu-prof-interval 100\` of ${Cp.profiles} runs of \`kms-agent token\` (average ${ms(Cp.totalMs)} profiled per run, self time by category):`);
    line();
    table(['category', 'ms per run', 'share'], Cp.categories.slice(0, 10).map((c) => [c.name, fmt(c.ms, 2), `${fmt(c.share * 100, 1)}%`]));
    table(['top functions (self time)', 'ms per run'], Cp.functions.slice(0, 12).map((f) => [`\`${f.name}\``, fmt(f.ms, 2)]));
  }
  const rawRatio = ratio(cli.raw.medianMs, cli.node.medianMs);
  line(
    '**What changed:** `kms-agent token` was an ES module entry importing 12 files and json-rpc-2.0\'s client (about 2.0× `node -e \'\'` in the run before issue 5). ' +
      'The bin is CommonJS (dist/client/bin.cjs); the fast commands\' modules are one file, dist/client/fastPath.bundle.cjs, compiled with the V8 code cache the build took after a real `token` call (scripts/bundleFastPath.mjs: our own answer to `module.enableCompileCache()`, which needs Node ≥ 22.1). ' +
      'With an agent listening, `token` is node:net, one JSON-RPC line, the token written straight to fd 1 (no process.stdout stream), no ES module loader, no promises. The credential helpers kubectl and git run, and `start`, take the same path; `--help` and every other command load the full CLI. ' +
      `**So:** what is left is Node's own work for any socket client: the minimal one-file client is ${x(rawRatio)}` +
      (rawRatio > 1.15
        ? `, already past the target: node:net and its stream stack (${ms(net)}), the lazily compiled internals behind the first connect and the event-loop turn until its callback run before a single byte of ours is sent. ` +
          `kms-agent token is ${fmt(cli.kms.medianMs - cli.raw.medianMs, 1)} ms above that floor (${x(ratio(cli.kms.medianMs, cli.raw.medianMs))}; issue 15 asks for 1.05×): measured by hand, first calls in a fresh process, each about 0.2 ms: the socket check before a byte is sent (two lstat, docs/SECURITY.md), the timer that stops a wait on a wedged agent (Node sets up its timer lists on first use), reading and deserialising the bundle's code cache; then argument handling. ` +
          'Tried and not kept: a V8 startup snapshot (`node --snapshot-blob`, Node 20) made the minimal client slower (reading the 4 MB blob costs more than it saves: 27.0 vs 25.3 ms by hand). ' +
          'The ≤ 1.15× target needs a client that is not a Node process (oidc-token is C), which the stack rules out.'
        : '.'),
  );
  line();
}

// ---- the chart ------------------------------------------------------------------------------------

function svg(R) {
  const P = R.parameters;
  const W = 900;
  const H = 470;
  const m = { l: 78, r: 310, t: 50, b: 58 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const series = [
    { key: 'kms-pipe', name: `kms-agent, pipelined (${P.pipeDepth} in flight)`, color: '#1b7837', dash: '' },
    { key: 'kms-persistent', name: 'kms-agent, persistent (1 in flight)', color: '#5aae61', dash: '' },
    { key: 'kms-conn', name: 'kms-agent, 1 request per connection', color: '#2166ac', dash: '' },
    { key: 'oidc-conn', name: 'oidc-agent, 1 request per connection', color: '#b2182b', dash: '' },
  ].map((s) => ({ ...s, points: P.concurrency.map((c) => [c, tp(R, s.key, c)]) }));
  const target = { name: '3× oidc-agent (target)', color: '#b2182b', points: P.concurrency.map((c) => [c, 3 * tp(R, 'oidc-conn', c)]) };
  const all = [...series, target].flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  // Bounds on the 1-2-5 grid around the data.
  const steps = (v) => [1, 2, 5].map((k) => k * Math.pow(10, Math.floor(Math.log10(v))));
  const lo = Math.max(...steps(Math.min(...all)).filter((s) => s <= Math.min(...all)));
  const hi = Math.min(...[...steps(Math.max(...all)), 10 * steps(Math.max(...all))[0]].filter((s) => s >= Math.max(...all)));
  const xMin = Math.log10(P.concurrency[0]);
  const xMax = Math.log10(P.concurrency.at(-1));
  const X = (c) => m.l + ((Math.log10(c) - xMin) / (xMax - xMin || 1)) * pw;
  const Y = (v) => m.t + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const human = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v));
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="24" font-size="16" font-weight="bold">Tokens per second vs concurrent clients</text>`);
  out.push(`<text x="${m.l}" y="40" fill="#555">${esc(`${R.machine.cpus} cores, ${R.machine.node}, ${R.machine.oidcAgent}, ${R.machine.date.slice(0, 10)}; medians of ${P.reps} × ${P.windowMs / 1000} s; log–log`)}</text>`);
  // Grid and y ticks: 1, 2, 5 per decade.
  const decade = Math.pow(10, Math.floor(Math.log10(lo)));
  for (let d = decade; d <= hi; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v < lo * 0.999) continue;
      if (v > hi * 1.001) break;
      const y = Y(v).toFixed(1);
      out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${m.l - 8}" y="${(+y + 4).toFixed(1)}" text-anchor="end" fill="#333">${human(v)}</text>`);
    }
  }
  for (const c of P.concurrency) {
    const xx = X(c).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${m.t + ph + 18}" text-anchor="middle" fill="#333">${c}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 14}" text-anchor="middle">concurrent clients (log scale)</text>`);
  out.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">tokens per second (log scale)</text>`);
  const path = (pts) => pts.map(([c, v], i) => `${i ? 'L' : 'M'}${X(c).toFixed(1)} ${Y(v).toFixed(1)}`).join(' ');
  out.push(`<path d="${path(target.points)}" fill="none" stroke="${target.color}" stroke-width="1.5" stroke-dasharray="5 4" opacity="0.7"/>`);
  for (const s of series) {
    out.push(`<path d="${path(s.points)}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const [c, v] of s.points) {
      out.push(`<circle cx="${X(c).toFixed(1)}" cy="${Y(v).toFixed(1)}" r="4" fill="${s.color}"><title>${esc(`${s.name}, ${c} clients: ${Math.round(v)} tokens/s`)}</title></circle>`);
    }
  }
  // End-of-line values, pushed apart where lines end close together.
  const labels = series.map((s) => ({ s, v: s.points.at(-1)[1], y: Y(s.points.at(-1)[1]) + 4 })).sort((a, b) => a.y - b.y);
  for (let i = 1; i < labels.length; i++) labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 13);
  for (const l of labels) {
    out.push(`<text x="${(X(P.concurrency.at(-1)) + 8).toFixed(1)}" y="${l.y.toFixed(1)}" fill="${l.s.color}" font-size="11">${human(Math.round(l.v / 100) * 100)}</text>`);
  }
  // Legend.
  const lx = m.l + pw + 50;
  [...series, { ...target, dash: '5 4' }].forEach((s, i) => {
    const ly = m.t + 14 + i * 22;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="${s.dash ? 1.5 : 2.5}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}" fill="#222">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
