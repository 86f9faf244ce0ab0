// Process cost readers: RSS from /proc/PID/status, CPU from /proc/PID/stat (clock ticks) and,
// for sub-tick precision, the sum of /proc/PID/task/*/schedstat (nanoseconds on CPU).
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // getconf CLK_TCK on Linux/x86-64

/** True while the process exists and is not a zombie (an exited daemon whose reaper is slow). */
export function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** VmRSS, VmHWM (peak), threads, context switches; kB → MiB. */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rssMiB: kb('VmRSS') / 1024,
    hwmMiB: kb('VmHWM') / 1024,
    threads: Number(/^Threads:\s+(\d+)/m.exec(text)?.[1]),
  };
}

/** utime and stime (seconds) from a /proc/.../stat file: fields 14 and 15 of proc(5). */
function userSys(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  // Field 2 (comm) may hold spaces: split after the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
}

/** utime+stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid) {
  const { user, sys } = userSys(`/proc/${pid}/stat`);
  return user + sys;
}

/** User and system CPU seconds of the main thread (tid = pid) and of all other threads. */
export function threadCpu(pid) {
  const main = userSys(`/proc/${pid}/task/${pid}/stat`);
  const all = userSys(`/proc/${pid}/stat`);
  return { main, others: { user: all.user - main.user, sys: all.sys - main.sys } };
}

/** Nanosecond CPU time and context switches, summed over every thread of the process. */
export function threadTotals(pid) {
  let cpuNs = 0;
  let wakeups = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // A thread that ended between readdir and read.
    }
  }
  return { cpuNs, wakeups };
}

/** Children of a process (by ppid), e.g. oidc-agent's oidcd under its socket proxy. */
export function childrenOf(pid) {
  const kids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return kids;
}

/** A snapshot over a group of pids (an agent may be several processes). */
export function snapshot(pids) {
  let rssMiB = 0;
  let hwmMiB = 0;
  let threads = 0;
  let cpu = 0;
  let userSeconds = 0;
  let sysSeconds = 0;
  let cpuNs = 0;
  let wakeups = 0;
  for (const pid of pids) {
    const m = memory(pid);
    const t = threadTotals(pid);
    rssMiB += m.rssMiB;
    hwmMiB += m.hwmMiB;
    threads += m.threads;
    const us = userSys(`/proc/${pid}/stat`);
    cpu += us.user + us.sys;
    userSeconds += us.user;
    sysSeconds += us.sys;
    cpuNs += t.cpuNs;
    wakeups += t.wakeups;
  }
  return {
    at: performance.now(),
    rssMiB,
    hwmMiB,
    threads,
    cpuSeconds: cpu,
    userSeconds,
    sysSeconds,
    cpuNs,
    wakeups,
  };
}
