// The one-shot ceiling of any Node server on the machine, measured in the run (a bare server in
// one process and in two), against which kms-agent's one-request-per-connection rate reads.
import { cellMedian, ratio } from '../lib/stats.mjs';
import { fmt, x } from './markdown.mjs';

export function throughputCeiling(R, c8, line, table) {
  const C = R.profiles.daemon.ceiling;
  if (!C) return;
  const tp = (key, c) => cellMedian(R.throughput, key, c);
  const kept = ['kms-persistent', 'kms-pipe'].flatMap((k) =>
    [8, 50].map((c) => ratio(tp(k, c), tp('oidc-conn', c))),
  );
  const idleRatio = ratio(R.idle.kms.rssMiB, R.idle.oidc.rssMiB);
  const vsOidc = (v) => x(ratio(v, c8.oidc));
  table(
    ['server, 8 clients, one request per connection', 'tokens/s', 'vs oidc-agent'],
    [
      ['oidc-agent', fmt(c8.oidc), '1.00×'],
      ['kms-agent (the daemon)', fmt(c8.kms), vsOidc(c8.kms)],
      [
        `bare Node server: node:net, a fixed ${fmt(C.replyBytes)}-byte reply, nothing else ` +
          '(bench/probes/bare-server.cjs)',
        fmt(C.oneProcess),
        vsOidc(C.oneProcess),
      ],
      [
        'the same bare server in 2 processes sharing the socket (cluster, SCHED_NONE)',
        fmt(C.twoProcesses),
        vsOidc(C.twoProcesses),
      ],
    ],
  );
  line(
    '**The ceiling, measured in this run:** a Node server that does nothing but answer reaches ' +
      `${vsOidc(C.oneProcess)} oidc-agent in one process, ` +
      'so no single-process Node daemon can reach 3× with one request per connection on this ' +
      `machine; kms-agent runs at ${fmt((100 * c8.kms) / C.oneProcess)}% of that ceiling. ` +
      `Two processes sharing the socket reach ${vsOidc(C.twoProcesses)} while doing nothing at ` +
      'all, with the load generator competing for the same 2 vCPUs. ' +
      'A daemon split into acceptor processes would also have to share the token cache and the ' +
      'single-flight refresh across processes, ' +
      'and would add a second Node heap to an idle footprint that is already ' +
      `${x(idleRatio, 0)} oidc-agent's, for a gain that only a synthetic one-shot flood sees: a ` +
      "shell script pays Node's start (tens of ms) per `kms-agent token`, and a service that " +
      'needs many tokens keeps its connection (the persistent and pipelined columns: ' +
      `${x(Math.min(...kept), 0)}–${x(Math.max(...kept), 0)} oidc-agent). ` +
      'So kms-agent stays one process; what was changed is the per-request path (answered ' +
      "synchronously, without json-rpc-2.0's promises, when the token is cached).",
  );
  line();
}
