// Is RSS growth a leak? The memory workloads again on a daemon restarted under `--trace-gc`: a
// heap snapshot (--heapsnapshot-signal) forces a full GC at a quiet moment, and its "after"
// figure is the live heap, so a leak shows as a live heap that grows from round to round. The
// growth of the heap between collections says how much garbage each request leaves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tokenRequest } from '../lib/agentRpc.mjs';
import { restartUnder } from '../lib/daemonProcess.mjs';
import { snapshot } from '../lib/procstat.mjs';
import { sleep } from '../lib/processControl.mjs';
import { pipelinedSpec } from './memoryGrowth.mjs';

/** A --trace-gc line: the kind of collection, heap used (committed) before -> after, in MB. */
const GC_LINE = new RegExp(
  ': (Scavenge|Minor Mark-Compact|Mark-Compact|Mark-sweep)[^\\d]*' +
    '([\\d.]+) \\(([\\d.]+)\\) -> ([\\d.]+) \\(([\\d.]+)\\) MB',
);

/** Every GC the daemon reports on stdout, as { kind, before, after, committed } (MB). */
function collectGcs(stdout) {
  const gcs = [];
  let pending = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      const text = pending.slice(0, nl);
      const m = GC_LINE.exec(text);
      if (m) {
        const minor = m[1] === 'Scavenge' || m[1].startsWith('Minor');
        const kind = /heap profiler/.test(text) ? 'forced' : minor ? 'minor' : 'full';
        gcs.push({ kind, before: +m[2], after: +m[4], committed: +m[5] });
      }
      pending = pending.slice(nl + 1);
    }
  });
  return gcs;
}

/** Full GC now (the heap snapshot's): the live heap after it in MB. */
async function forcedGc(pid, gcs) {
  const seen = gcs.length;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 400; i++) {
    const forced = gcs.slice(seen).filter((g) => g.kind === 'forced');
    // V8 collects twice for a snapshot; the last one is the figure.
    if (forced.length >= 2) {
      await sleep(1500); // let the snapshot be written before the next round
      return forced.at(-1).after;
    }
    await sleep(25);
  }
  return NaN;
}

/** Allocation between two collections: heap used before the later − after the earlier. */
function allocatedMB(gcs, from) {
  let total = 0;
  gcs.slice(from).forEach((g, i) => {
    const prior = gcs[from + i - 1];
    if (prior) total += Math.max(0, g.before - prior.after);
  });
  return total;
}

export async function traceGc({ P, dir, tools, kms, cleanups }) {
  // Heap snapshots land in cwd (they hold tokens: removed with the run's directory).
  const cwd = join(dir, 'trace-gc');
  mkdirSync(cwd);
  const flags = ['--trace-gc', '--heapsnapshot-signal=SIGUSR2'];
  const logFile = join(dir, 'trace-gc-daemon.log');
  const traced = await restartUnder(kms, { flags, logFile, cwd, pipeStdout: true, cleanups });
  const pid = traced.child.pid;
  const gcs = collectGcs(traced.child.stdout);
  const pipe = (n) => tools.pipelined(pipelinedSpec(P, kms.socket, n), 300_000);
  const half = `count=${P.churn / 2}`;
  const oneShot = () => tools.oneShot(kms.socket, 'kms', tokenRequest('main'), 8, [half], 300_000);
  await pipe(100_000);
  await sleep(500);
  const liveAtStart = await forcedGc(pid, gcs);
  const rounds = [
    { load: 'pipelined', run: () => pipe(P.million) },
    { load: 'pipelined', run: () => pipe(P.million) },
    { load: 'one per connection', run: oneShot },
    { load: 'one per connection', run: oneShot },
  ];
  const segments = [];
  for (const round of rounds) {
    const from = gcs.length;
    const r = await round.run();
    await sleep(500);
    const rssAtEnd = snapshot([pid]).rssMiB;
    const window = gcs.slice(from);
    segments.push({
      load: round.load,
      requests: r.requests,
      tokensPerSec: r.tokensPerSec,
      rssAtEnd,
      minorGcs: window.filter((g) => g.kind === 'minor').length,
      fullGcs: window.filter((g) => g.kind === 'full').length,
      bytesAllocatedPerRequest: (allocatedMB(gcs, from) * 2 ** 20) / r.requests,
      liveAfterForcedGcMB: await forcedGc(pid, gcs),
    });
  }
  await traced.restore();
  return { liveAtStart, segments };
}
