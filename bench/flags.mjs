#!/usr/bin/env node
// Compares sets of Node/V8 flags (and environment) for the daemon's spawn, side by side in one run
// (issue 15): each set gets its own logged-in daemon (`node FLAGS dist/daemon/daemon.cjs`, file store),
// and the sets take turns for every measurement. Per set: pipelined and one-request-per-connection
// tokens/s (8 clients), RSS growth over 3 × 1,000,000 pipelined requests, then idle RSS and threads.
// Prints Markdown on stdout. Build first (`npm run build`); needs cc (bench/setup.sh).
//   node bench/flags.mjs
//   BENCH_FLAG_SETS='[{"name":"mine","flags":["--max-semi-space-size=1"],"env":{}}]' node bench/flags.mjs
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalProvider } from '../dist/demo/localProvider.js';
import { ROOT, freePort, setupKms, sleep, stopPid } from './lib/agents.mjs';
import { RECOMMENDED, footprint, startDaemon } from './lib/idleFloor.mjs';
import { median } from './lib/stats.mjs';

const run = promisify(execFile);
const SETS = process.env.BENCH_FLAG_SETS
  ? JSON.parse(process.env.BENCH_FLAG_SETS)
  : [
      { name: 'as launched today (no flags)', flags: [], env: {} },
      { name: '--max-semi-space-size=1', flags: ['--max-semi-space-size=1'], env: {} },
      { name: '--single-threaded-gc', flags: ['--single-threaded-gc'], env: {} },
      { name: '--max-opt=1 (no optimizing compiler)', flags: ['--max-opt=1'], env: {} },
      { name: 'recommended', ...RECOMMENDED },
    ];
const REPS = Number(process.env.BENCH_FLAG_REPS ?? 3);
const MILLION = Number(process.env.BENCH_FLAG_MILLION ?? 1_000_000);
const say = (msg) => process.stderr.write(`[flags] ${msg}\n`);
const REQUEST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'token.get', params: { profile: 'main', kind: 'access' } }) + '\n';

async function json(cmd, args) {
  const { stdout } = await run(cmd, args, { maxBuffer: 16 << 20, timeout: 300_000 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

const dir = mkdtempSync(join(tmpdir(), 'kms-flags-'));
const cleanups = [];
try {
  const connload = join(dir, 'connload');
  await run('cc', ['-O2', '-pthread', '-o', connload, join(ROOT, 'bench', 'lib', 'connload.c')]);
  const loadgen = join(ROOT, 'bench', 'lib', 'loadgen.mjs');
  const pipe = (socket, spec) => json(process.execPath, [loadgen, JSON.stringify({ agent: 'kms', socket, mode: 'pipe', concurrency: 8, depth: 16, keepLatencies: false, ...spec })]);

  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({ redirectUris: [redirectUrl], accessTokenTtl: 3600 });
  cleanups.push(() => provider.close());
  const daemons = [];
  for (const [i, set] of SETS.entries()) {
    mkdirSync(join(dir, String(i)));
    const kms = await setupKms({ dir: join(dir, String(i)), store: 'file', profiles: [{ name: 'main', issuer: provider.issuer, redirectUrl }] });
    const { pid } = await startDaemon(kms, { flags: set.flags, env: set.env, logFile: join(dir, `${i}.log`) });
    cleanups.push(() => stopPid(pid));
    await kms.login('main');
    daemons.push({ set, kms, pid, pipe: [], conn: [], growth: [] });
  }
  say(`${daemons.length} daemons logged in; throughput, ${REPS} rounds`);
  for (let rep = 0; rep < REPS; rep++) {
    for (const d of daemons) {
      d.pipe.push((await pipe(d.kms.socket, { warmupMs: 400, durationMs: 2000 })).tokensPerSec);
      d.conn.push((await json(connload, [d.kms.socket, 'kms', REQUEST, '8', '400', '2000'])).tokensPerSec);
    }
  }
  say(`RSS growth: 3 × ${MILLION.toLocaleString('en')} pipelined requests each`);
  for (const d of daemons) {
    await pipe(d.kms.socket, { totalRequests: 100_000 });
    for (let segment = 0; segment < 3; segment++) {
      const before = footprint(d.pid).rssMiB;
      const r = await pipe(d.kms.socket, { totalRequests: MILLION, concurrency: 50 });
      d.growth.push(((footprint(d.pid).rssMiB - before) * 1e6) / r.requests);
    }
    d.peak = footprint(d.pid).rssMiB;
  }
  say('idle: 10 s');
  await Promise.all(daemons.map((d) => pipe(d.kms.socket, { totalRequests: 200, concurrency: 1, depth: 1 })));
  await sleep(10_000);
  for (const d of daemons) d.idle = footprint(d.pid);

  const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
  const base = daemons[0];
  const rel = (v, b) => `${fmt(v)} (${fmt(v / b, 2)}×)`;
  const lines = [
    `| flags | pipelined tokens/s (8 × 16) | one per connection tokens/s (8) | RSS growth per million (3 runs) | RSS after the million runs | idle RSS (10 s) | threads |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...daemons.map((d) => {
      const env = Object.entries(d.set.env ?? {}).map(([k, v]) => `${k}=${v}`);
      return `| ${d.set.name}${d.set.flags.length || env.length ? `: \`${[...env, ...d.set.flags].join(' ')}\`` : ''} | ${rel(median(d.pipe), median(base.pipe))} | ${rel(median(d.conn), median(base.conn))} | ${d.growth.map((g) => fmt(g, 1)).join(', ')} MiB | ${fmt(d.peak, 1)} MiB | ${fmt(d.idle.rssMiB, 1)} MiB | ${d.idle.threads} |`;
    }),
  ];
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((err) => say(`cleanup: ${err.message}`));
  rmSync(dir, { recursive: true, force: true });
}
