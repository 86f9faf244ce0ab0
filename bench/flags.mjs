#!/usr/bin/env node
// Compares sets of Node/V8 flags (and environment) for the daemon's spawn, side by side in one
// run (issue 15): each set gets its own logged-in daemon (`node FLAGS DAEMON`, file store), and
// the sets take turns for every measurement. Per set: pipelined and one-request-per-connection
// tokens/s (8 clients), RSS growth over 3 × 1,000,000 pipelined requests, then idle RSS and
// threads. Prints Markdown on stdout. Build first (`npm run build`); needs cc (bench/setup.sh).
//   node bench/flags.mjs
//   BENCH_FLAG_SETS='[{"name":"mine","flags":["--max-semi-space-size=1"],"env":{}}]' \
//     node bench/flags.mjs
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenRequest } from './lib/agentRpc.mjs';
import { benchRun } from './lib/benchRun.mjs';
import { freePort, startLocalProvider } from './lib/buildEntries.mjs';
import { RECOMMENDED, startDaemon } from './lib/daemonProcess.mjs';
import { footprint } from './lib/footprint.mjs';
import { setupKms } from './lib/kmsSandbox.mjs';
import { loadTools } from './lib/loadTools.mjs';
import { sleep, stopPid } from './lib/processControl.mjs';
import { median } from './lib/stats.mjs';
import { fmt } from './report/markdown.mjs';

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

/** A logged-in daemon per flag set, on one provider. */
async function startDaemons(dir, cleanups) {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({ redirectUris: [redirectUrl], accessTokenTtl: 3600 });
  cleanups.push(() => provider.close());
  const daemons = [];
  for (const [i, set] of SETS.entries()) {
    const base = join(dir, String(i));
    mkdirSync(base);
    const profiles = [{ name: 'main', issuer: provider.issuer, redirectUrl }];
    const kms = await setupKms({ dir: base, store: 'file', profiles });
    const logFile = join(dir, `${i}.log`);
    const { pid } = await startDaemon(kms, { flags: set.flags, env: set.env, logFile });
    cleanups.push(() => stopPid(pid));
    await kms.login('main');
    daemons.push({ set, kms, pid, pipe: [], conn: [], growth: [] });
  }
  return daemons;
}

async function measure(daemons, tools, say) {
  const pipe = (socket, spec) =>
    tools.pipelined(
      { agent: 'kms', socket, mode: 'pipe', concurrency: 8, depth: 16, ...spec },
      300_000,
    );
  const quiet = { keepLatencies: false };
  say(`${daemons.length} daemons logged in; throughput, ${REPS} rounds`);
  for (let rep = 0; rep < REPS; rep++) {
    for (const d of daemons) {
      const piped = await pipe(d.kms.socket, { ...quiet, warmupMs: 400, durationMs: 2000 });
      d.pipe.push(piped.tokensPerSec);
      const request = tokenRequest('main');
      const oneShot = await tools.oneShot(d.kms.socket, 'kms', request, 8, [400, 2000]);
      d.conn.push(oneShot.tokensPerSec);
    }
  }
  say(`RSS growth: 3 × ${MILLION.toLocaleString('en')} pipelined requests each`);
  for (const d of daemons) {
    await pipe(d.kms.socket, { ...quiet, totalRequests: 100_000 });
    for (let segment = 0; segment < 3; segment++) {
      const before = footprint(d.pid).rssMiB;
      const r = await pipe(d.kms.socket, { ...quiet, totalRequests: MILLION, concurrency: 50 });
      d.growth.push(((footprint(d.pid).rssMiB - before) * 1e6) / r.requests);
    }
    d.peak = footprint(d.pid).rssMiB;
  }
  say('idle: 10 s');
  const few = { ...quiet, totalRequests: 200, concurrency: 1, depth: 1 };
  await Promise.all(daemons.map((d) => pipe(d.kms.socket, few)));
  await sleep(10_000);
  for (const d of daemons) d.idle = footprint(d.pid);
}

function markdown(daemons) {
  const base = daemons[0];
  const rel = (v, b) => `${fmt(v)} (${fmt(v / b, 2)}×)`;
  const name = (set) => {
    const words = [...Object.entries(set.env ?? {}).map(([k, v]) => `${k}=${v}`), ...set.flags];
    return words.length ? `${set.name}: \`${words.join(' ')}\`` : set.name;
  };
  const row = (d) =>
    [
      name(d.set),
      rel(median(d.pipe), median(base.pipe)),
      rel(median(d.conn), median(base.conn)),
      `${d.growth.map((g) => fmt(g, 1)).join(', ')} MiB`,
      `${fmt(d.peak, 1)} MiB`,
      `${fmt(d.idle.rssMiB, 1)} MiB`,
      d.idle.threads,
    ].join(' | ');
  return [
    '| flags | pipelined tokens/s (8 × 16) | one per connection tokens/s (8) | ' +
      'RSS growth per million (3 runs) | RSS after the million runs | idle RSS (10 s) | threads |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...daemons.map((d) => `| ${row(d)} |`),
  ].join('\n');
}

const { say, cleanups, cleanup } = benchRun({ name: 'flags' });
const dir = mkdtempSync(join(tmpdir(), 'kms-flags-'));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
try {
  const tools = await loadTools(dir);
  const daemons = await startDaemons(dir, cleanups);
  await measure(daemons, tools, say);
  process.stdout.write(markdown(daemons) + '\n');
} catch (err) {
  say(`failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
