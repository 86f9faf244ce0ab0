// Whether RSS growth is a leak: RSS per million requests, then the live heap after forced full
// GCs on a daemon run under --trace-gc (bench/phases/gcTrace.mjs), and what that says.
import { fmt } from './markdown.mjs';

function gcTable(R, G, line, table) {
  const P = R.parameters;
  line(
    'The same workloads on a daemon started with `node --trace-gc --heapsnapshot-signal`: ' +
      `warmed up with 100,000 requests, then two rounds of ${fmt(P.million)} pipelined requests ` +
      `and two of ${fmt(P.churn / 2)} one-per-connection requests; ` +
      'after each, a heap snapshot forces a full GC while no request is in flight, so the heap ' +
      'left after it is what the daemon really retains (RSS in this table includes what writing ' +
      'the snapshots took):',
  );
  line();
  table(
    [
      'after',
      'requests',
      'rate',
      'RSS',
      'minor / full GCs during the round',
      'garbage per request',
      'live heap after a forced full GC',
    ],
    [
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
    ],
  );
}

function conclusion(R, G, line) {
  const live = [G.liveAtStart, ...G.segments.map((g) => g.liveAfterForcedGcMB)];
  const total = G.segments.reduce((a, g) => a + g.requests, 0);
  const retainedPerMillion = ((live.at(-1) - live[0]) / total) * 1e6;
  const flat = live.every(Number.isFinite) && Math.abs(retainedPerMillion) < 1;
  const heaps = live.map((v) => fmt(v, 1)).join(' → ');
  const garbage = fmt(G.segments[0].bytesAllocatedPerRequest);
  const conn = G.segments.find((g) => g.load === 'one per connection');
  const connGarbage = conn ? fmt(conn.bytesAllocatedPerRequest) : undefined;
  const levers =
    "allocate less per request (serialise a cached token's reply once) and/or bound the young " +
    "generation (`--max-semi-space-size`) in the daemon's spawn arguments.";
  if (!flat) {
    line(
      `**So:** the live heap after forced full GCs grows (${heaps} MB, ` +
        `${fmt(retainedPerMillion, 2)} MB per million requests): something is retained per ` +
        'request; comparing two of the heap snapshots (kept with BENCH_KEEP=1) shows what.',
    );
  } else {
    line(
      `**So:** nothing is retained: the live heap after a forced full GC is ${heaps} MB across ` +
        `${fmt(total)} requests (${fmt(retainedPerMillion, 2)} MB per million). ` +
        "RSS follows V8's GC schedule, not the request count: each pipelined token.get leaves " +
        `about ${garbage} bytes of garbage (the parsed request, the response object and the ` +
        'reply string; a cached token is answered synchronously, without the promises ' +
        "json-rpc-2.0's server allocated per request before)" +
        (connGarbage ? `, one on a connection of its own about ${connGarbage} bytes` : '') +
        '; ' +
        'full collections are rare at this rate, and the heap pages committed between them ' +
        'count in RSS, so one run of a million can show several MiB up or down. ' +
        (R.met.rss
          ? `Within the target in this run; what would make RSS steadier still: ${levers}`
          : `What would bring it under the target: ${levers}`),
    );
  }
  line();
}

export function memoryCauses(R, line, table) {
  const Mm = R.memory;
  const G = R.profiles.memory;
  line(`### RSS growth per million requests (target < 5 MiB${R.met.rss ? ', met' : ''})`);
  line();
  const first = Mm.kmsPipe[0];
  const last = Mm.kmsPipe.at(-1);
  const growth = R.targets.rssGrowthPerMillionBySegment;
  const signed = (g) => `${g >= 0 ? '+' : ''}${fmt(g, 1)}`;
  const peak = Math.max(...Mm.kmsPipe.map((m) => m.hwm));
  line(
    `RSS growth per million pipelined requests, in ${Mm.kmsPipe.length} consecutive runs of ` +
      `${fmt(R.parameters.million)}: ${growth.map(signed).join(', ')} MiB ` +
      `(${fmt(first.before, 1)} MiB before the first, ${fmt(last.after, 1)} MiB after the last, ` +
      `peak ${fmt(peak, 1)} MiB).`,
  );
  line();
  if (!G) return;
  gcTable(R, G, line, table);
  conclusion(R, G, line);
}
