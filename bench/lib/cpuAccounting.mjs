// Where CPU went: to the agent under a load, and to processes that are not part of this run
// (another test suite on the same machine skews every number, so the bench measures it).
import { readFileSync } from 'node:fs';
import { cpuSeconds, snapshot } from './procstat.mjs';

/** Busy CPU seconds of the whole machine (/proc/stat: everything but idle and iowait). */
function machineBusySeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) / 100;
}

/**
 * CPU seconds of this process and of its children that have been waited for (load generators,
 * hyperfine, CLIs).
 */
function selfAndChildrenSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** CPU seconds of those of `pids` that exist (an agent being restarted may have none). */
function agentsSeconds(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid);
    } catch {
      // Gone: its CPU is no longer counted, as after any restart.
    }
  }
  return sum;
}

/**
 * Starts counting; stop() gives the wall time and the CPU shares (% of one core) of the machine,
 * of this run (this process, its children and the agents `pids`), and of everything else.
 */
export function startAccounting(pids) {
  const start = {
    at: performance.now(),
    machine: machineBusySeconds(),
    self: selfAndChildrenSeconds(),
    agents: agentsSeconds(pids),
  };
  return {
    stop() {
      const wallS = (performance.now() - start.at) / 1000;
      const machine = machineBusySeconds() - start.machine;
      const agents = agentsSeconds(pids) - start.agents;
      const ours = selfAndChildrenSeconds() - start.self + agents;
      return {
        wallS,
        machinePct: (100 * machine) / wallS,
        oursPct: (100 * ours) / wallS,
        otherPct: Math.max(0, (100 * (machine - ours)) / wallS),
      };
    },
  };
}

/** Runs one load while sampling the server's CPU (all its threads and processes). */
export async function withServerCpu(pids, load) {
  const before = snapshot(pids);
  const result = await load();
  const after = snapshot(pids);
  const wallS = (after.at - before.at) / 1000;
  return {
    ...result,
    serverCpuPct: (100 * (after.cpuNs - before.cpuNs)) / 1e9 / wallS,
    serverUserPct: (100 * (after.userSeconds - before.userSeconds)) / wallS,
    serverSysPct: (100 * (after.sysSeconds - before.sysSeconds)) / wallS,
    clientCpuPct: (100 * result.clientCpuSeconds) / (result.elapsedMs / 1000),
  };
}
