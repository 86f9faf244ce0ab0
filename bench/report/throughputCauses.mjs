// Why one request per connection misses 3× oidc-agent: the daemon's CPU per connection, its
// syscalls and CPU profile, then the ceiling of any Node server on the machine
// (throughputCeiling.mjs).
import { cellMedian } from '../lib/stats.mjs';
import { fmt } from './markdown.mjs';
import { throughputCeiling } from './throughputCeiling.mjs';

/** The 8-client cells the explanation quotes. */
export function cellsAt8(R) {
  const tp = (key, field) => cellMedian(R.throughput, key, 8, field);
  return {
    kms: tp('kms-conn'),
    oidc: tp('oidc-conn'),
    kmsCpu: tp('kms-conn', 'serverCpuPct'),
    kmsSys: tp('kms-conn', 'serverSysPct'),
    oidcCpu: tp('oidc-conn', 'serverCpuPct'),
    pipe: tp('kms-pipe'),
    pipeCpu: tp('kms-pipe', 'serverCpuPct'),
    persistent: tp('kms-persistent'),
  };
}

function whatLimits(R, c8, us, line) {
  const D = R.profiles.daemon;
  const others = (D.otherThreads.user + D.otherThreads.sys) * 100;
  line(
    '**What limits kms-agent:** its single JavaScript thread is saturated by connection ' +
      'handling, not by serving tokens. ' +
      `With 8 clients the daemon's main thread ran at ${fmt(D.mainThread.user * 100)}% user + ` +
      `${fmt(D.mainThread.sys * 100)}% system of one core ` +
      `(other threads: ${fmt(others)}%), for ${fmt(D.unprofiledTokensPerSec)} tokens/s: ` +
      `about ${fmt(us.perConn)} µs of CPU per request, ${fmt(us.sysPerConn)} µs of it in the ` +
      'kernel. The same token.get on a connection ' +
      `that stays open costs about ${fmt(us.perPiped, 1)} µs (${fmt(c8.pipe)} tokens/s ` +
      `pipelined at ${fmt(c8.pipeCpu)}% CPU; ` +
      `${fmt(c8.persistent)} tokens/s with one request in flight per connection), so roughly ` +
      `${fmt(us.perConn - us.perPiped)} µs of every ` +
      'one-shot request is the connection itself: accept4, a new net.Socket (a Duplex stream ' +
      'with its state objects and listeners), ' +
      'epoll registration, and the shutdown/close when the client hangs up. ' +
      `oidc-agent spends about ${fmt(us.oidc)} µs of CPU per request across its two processes, ` +
      `at ${fmt(c8.oidcCpu)}% of a core` +
      (c8.oidcCpu < 90
        ? ': it is not CPU-bound but bounded by its serial hand-off (socket process → oidcd ' +
          'over a pipe and back, one request at a time), so more clients do not make it faster.'
        : '.'),
  );
  line();
}

function syscallTable(R, line, table) {
  const { kms, oidc } = R.syscalls;
  if (!kms || !oidc) return;
  line(
    'System calls per one-shot request (`strace -c -f` on the agent, 5,000 requests, 8 ' +
      'clients; strace slows both, counts are exact):',
  );
  line();
  const names = [...new Set([...Object.keys(kms.perRequest), ...Object.keys(oidc.perRequest)])];
  table(
    ['syscall', 'kms-agent', 'oidc-agent'],
    [
      ...names.map((n) => [n, fmt(kms.perRequest[n] ?? 0, 2), fmt(oidc.perRequest[n] ?? 0, 2)]),
      ['**total**', fmt(kms.total, 1), fmt(oidc.total, 1)],
    ],
  );
}

function profileTables(R, line, table) {
  const D = R.profiles.daemon;
  line(
    `\`node --cpu-prof\` of the daemon (${fmt(D.load.tokensPerSec)} tokens/s under the ` +
      'profiler, 8 clients, one request per connection, ' +
      `${fmt(D.load.elapsedMs / 1000, 0)} s), self time by category ` +
      '("idle / native I/O" is time in libuv\'s poll phase outside JavaScript: epoll, accept4, ' +
      'read, close — kernel work for a saturated server):',
  );
  line();
  const share = (v) => `${fmt(v.share * 100, 1)}%`;
  table(
    ['category', 'share'],
    D.categories.slice(0, 10).map((c) => [c.name, share(c)]),
  );
  line('Top functions by self time (excluding idle):');
  line();
  const busy = D.functions.filter((f) => !/^\((idle|root)\)/.test(f.name)).slice(0, 15);
  table(
    ['function', 'share'],
    busy.map((f) => [`\`${f.name}\``, share(f)]),
  );
}

function conclusion(c8, us, line) {
  const budget = 1e6 / (3 * c8.oidc);
  line(
    `**So:** at about ${fmt(us.perConn)} µs of CPU per connection, one Node thread tops out ` +
      `near ${fmt(1e6 / us.perConn)} one-shot tokens/s on this machine. ` +
      `3× oidc-agent at 8 clients is ${fmt(3 * c8.oidc)} tokens/s, a budget of ${fmt(budget)} µs ` +
      'per connection on one core' +
      (budget < us.sysPerConn
        ? `, less than the ${fmt(us.sysPerConn)} µs the kernel alone spends per connection ` +
          'now. '
        : `, of which the kernel already takes ${fmt(us.sysPerConn)} µs. `) +
      "`writeUtf8String` at the top is the reply's write(2) (the copy into the peer socket and " +
      "waking the client), `close`/`Socket`/`Duplex`/`ReadableState` are the socket's life " +
      'cycle; ' +
      "kms-agent's own code is a few per cent. The request path is not the problem, the " +
      'connection per request is.',
  );
  line();
}

export function throughputCauses(R, line, table) {
  const c8 = cellsAt8(R);
  const perRequest = (cpuPct, rate) => (cpuPct / 100 / rate) * 1e6;
  const us = {
    perConn: perRequest(c8.kmsCpu, c8.kms),
    sysPerConn: perRequest(c8.kmsSys, c8.kms),
    perPiped: perRequest(c8.pipeCpu, c8.pipe),
    oidc: perRequest(c8.oidcCpu, c8.oidc),
  };
  const met = R.met.throughputConn ? ', met' : '';
  line(`### Tokens/s with one request per connection (target: 3× oidc-agent${met})`);
  line();
  whatLimits(R, c8, us, line);
  syscallTable(R, line, table);
  profileTables(R, line, table);
  conclusion(c8, us, line);
  throughputCeiling(R, c8, line, table);
}
