// System calls per request: `strace -c -f` on an agent's processes during a short load (when
// strace exists; it slows the agent, but its counts are exact).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandExists } from '../lib/childCommands.mjs';
import { sleep } from '../lib/processControl.mjs';

/** strace -c's table: calls by syscall name. */
function callsIn(table) {
  const calls = {};
  for (const line of table.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== 'total') calls[m[2]] = Number(m[1]);
  }
  return calls;
}

/** Syscalls per request of `pids` during `load`, those at 0.05 or more; null without strace. */
export async function syscallsPerRequest(dir, pids, load) {
  if (!(await commandExists('strace'))) return null;
  const out = join(dir, `strace-${pids[0]}.txt`);
  const attach = pids.flatMap((p) => ['-p', String(p)]);
  const tracer = spawn('strace', ['-c', '-f', '-o', out, ...attach], { stdio: 'ignore' });
  await sleep(500);
  const r = await load();
  tracer.kill('SIGINT');
  await new Promise((resolve) => tracer.on('exit', resolve));
  const perRequest = Object.fromEntries(
    Object.entries(callsIn(readFileSync(out, 'utf8')))
      .map(([name, n]) => [name, n / r.requests])
      .filter(([, n]) => n >= 0.05)
      .sort((a, b) => b[1] - a[1]),
  );
  const total = Object.values(perRequest).reduce((a, b) => a + b, 0);
  return { requests: r.requests, perRequest, total };
}
