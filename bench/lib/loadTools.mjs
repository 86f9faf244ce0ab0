// The two load generators, ready to run against a socket: bench/lib/connload.c (one request per
// connection from blocking C threads, compiled into the run's directory) and bench/lib/loadgen.mjs
// (persistent and pipelined connections, a Node process of its own).
import { join } from 'node:path';
import { run, runJson } from './childCommands.mjs';

const HERE = new URL('.', import.meta.url).pathname;
const LOADGEN = join(HERE, 'loadgen.mjs');

/** Compiles connload into `dir`; returns the runners. */
export async function loadTools(dir) {
  const connload = join(dir, 'connload');
  await run('cc', ['-O2', '-pthread', '-o', connload, join(HERE, 'connload.c')]);
  return {
    /**
     * connload SOCKET AGENT REQUEST CLIENTS, then either WARMUP_MS DURATION_MS, `burst` or
     * `count=N` (see connload.c).
     */
    oneShot(socket, agent, request, clients, tail, timeout) {
      const args = [socket, agent, request, String(clients), ...tail.map(String)];
      return runJson(connload, args, { timeout });
    },
    /** loadgen with its JSON spec (agent, socket, mode, concurrency, depth, …). */
    pipelined: (spec, timeout) =>
      runJson(process.execPath, [LOADGEN, JSON.stringify(spec)], { timeout }),
  };
}
