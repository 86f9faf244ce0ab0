#!/usr/bin/env node
// The load generator, run as its own process so that it never shares an event loop with the
// agent under test or the bench's providers. The same code drives both agents:
//   conn  — one request per connection (connect, ask, read the answer, hang up): what
//           oidc-token and `kms-agent token` do, and all oidc-agent supports;
//   pipe  — persistent connections, each keeping `depth` requests in flight (kms-agent only:
//           oidc-agent answers one request per connection);
//   burst — `concurrency` connections opened at once, one request each (the refresh storm).
// Usage: node loadgen.mjs '<json spec>'; prints one JSON result line on stdout.
import { createConnection } from 'node:net';
import { percentile } from './stats.mjs';

const spec = JSON.parse(process.argv[2]);
const {
  agent, // 'kms' | 'oidc'
  socket: socketPath,
  mode, // 'conn' | 'pipe' | 'burst'
  concurrency,
  depth = 16,
  warmupMs = 0,
  durationMs = 0,
  totalRequests = 0, // pipe mode: stop after this many answers instead of after durationMs
  keepLatencies = true,
  kms = { profile: 'main', kind: 'access' },
  oidc = { account: 'bench', minValid: 60 },
  /**
   * A Unix socket whose listen backlog is full refuses a non-blocking connect with EAGAIN
   * (oidc-agent listens with a backlog of 5): wait this long and retry, as a blocking client
   * would wait.
   */
  retryDelayMs = 1,
  maxRetries = 100_000,
} = spec;

const kmsParams = JSON.stringify({
  profile: kms.profile,
  kind: kms.kind,
  ...(kms.minValid !== undefined ? { min_valid: kms.minValid } : {}),
});
const kmsRequest = (id) =>
  `{"jsonrpc":"2.0","id":${id},"method":"token.get","params":${kmsParams}}\n`;
const oidcRequest = Buffer.from(
  JSON.stringify({
    request: 'access_token',
    account: oidc.account,
    min_valid_period: oidc.minValid,
  }),
);

// ---- counters, reset when the measured window opens -------------------------------------
let measuring = warmupMs === 0;
let running = true;
let completed = 0;
let errors = 0;
let retries = 0;
let firstError;
let latencies = [];
let lastCompletion = 0;

function record(t0, ok, error) {
  const now = performance.now();
  if (!measuring) return;
  if (ok) {
    completed++;
    lastCompletion = now;
    if (keepLatencies) latencies.push(now - t0);
  } else {
    errors++;
    firstError ??= error;
  }
}

function validKms(message) {
  return typeof message?.result?.token === 'string' && message.result.token.length > 0;
}
function validOidc(message) {
  return (
    message?.status === 'success' &&
    typeof message.access_token === 'string' &&
    message.access_token.length > 0
  );
}

// ---- one request on a fresh connection -------------------------------------------------
function oneShot() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let attempts = 0;
    const attempt = () => {
      let connected = false;
      let settled = false;
      let text = '';
      const sock = createConnection(socketPath);
      const settle = (ok, error) => {
        if (settled) return;
        settled = true;
        sock.destroy();
        record(t0, ok, error);
        resolve();
      };
      sock.on('connect', () => (connected = true));
      sock.write(agent === 'kms' ? kmsRequest(1) : oidcRequest);
      sock.setEncoding('utf8');
      sock.on('data', (chunk) => {
        text += chunk;
        if (agent === 'kms') {
          const nl = text.indexOf('\n');
          if (nl === -1) return;
          let message;
          try {
            message = JSON.parse(text.slice(0, nl));
          } catch {
            return settle(false, 'unparsable reply');
          }
          settle(
            validKms(message),
            validKms(message) ? undefined : `error reply: ${text.slice(0, 200)}`,
          );
        } else {
          let message;
          try {
            message = JSON.parse(text);
          } catch {
            return; // oidc-agent's reply is one JSON object without a terminator: wait for the rest
          }
          settle(
            validOidc(message),
            validOidc(message) ? undefined : `error reply: ${text.slice(0, 200)}`,
          );
        }
      });
      sock.on('error', (err) => {
        if (
          !connected &&
          (err.code === 'EAGAIN' || err.code === 'ECONNREFUSED') &&
          attempts++ < maxRetries &&
          running
        ) {
          settled = true;
          sock.destroy();
          retries++;
          if (retryDelayMs > 0) setTimeout(attempt, retryDelayMs);
          else setImmediate(attempt);
          return;
        }
        settle(false, err.code ?? err.message);
      });
      sock.on('close', () => settle(false, 'closed before a reply'));
    };
    attempt();
  });
}

async function connWorker() {
  while (running) await oneShot();
}

// ---- persistent, pipelined connection (kms-agent) --------------------------------------
let nextId = 1;
function pipeWorker() {
  return new Promise((resolve) => {
    const sent = new Map();
    const sock = createConnection(socketPath);
    let pending = '';
    const refill = () => {
      if (!running) {
        if (sent.size === 0) sock.end();
        return;
      }
      let batch = '';
      while (sent.size < depth) {
        const id = nextId++;
        sent.set(id, performance.now());
        batch += kmsRequest(id);
      }
      if (batch) sock.write(batch);
    };
    sock.setEncoding('utf8');
    sock.on('connect', refill);
    sock.on('data', (chunk) => {
      pending += chunk;
      let start = 0;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
        const line = pending.slice(start, nl);
        start = nl + 1;
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          record(0, false, 'unparsable reply');
          continue;
        }
        const t0 = sent.get(message.id);
        sent.delete(message.id);
        record(
          t0,
          validKms(message),
          validKms(message) ? undefined : `error reply: ${line.slice(0, 200)}`,
        );
        if (totalRequests && completed >= totalRequests) running = false;
      }
      pending = pending.slice(start);
      refill();
    });
    sock.on('error', (err) => {
      record(0, false, err.code ?? err.message);
    });
    sock.on('close', resolve);
  });
}

// ---- run ---------------------------------------------------------------------------------
const worker = mode === 'pipe' ? pipeWorker : mode === 'burst' ? oneShot : connWorker;
const startedAt = performance.now();
let windowStart = startedAt;
let cpuAtWindow = process.cpuUsage();
const workers = Array.from({ length: concurrency }, () => worker());

if (warmupMs > 0) {
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  windowStart = performance.now();
  cpuAtWindow = process.cpuUsage();
}
if (mode === 'burst' || totalRequests) {
  await Promise.all(workers);
} else {
  await new Promise((r) => setTimeout(r, durationMs));
  running = false;
}
const windowEnd =
  mode === 'burst' || totalRequests ? lastCompletion || performance.now() : performance.now();
const cpu = process.cpuUsage(cpuAtWindow);
measuring = false;
await Promise.all(workers);

const elapsedMs = windowEnd - windowStart;
const result = {
  agent,
  mode,
  concurrency,
  depth: mode === 'pipe' ? depth : 1,
  requests: completed,
  errors,
  firstError,
  retries,
  elapsedMs,
  tokensPerSec: completed / (elapsedMs / 1000),
  p50Ms: percentile(latencies, 50),
  p99Ms: percentile(latencies, 99),
  maxMs: percentile(latencies, 100),
  clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
};
latencies = [];
process.stdout.write(JSON.stringify(result) + '\n');
