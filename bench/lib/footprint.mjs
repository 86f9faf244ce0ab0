// What an idle process costs: RSS and its parts from /proc/PID/smaps_rollup and status, threads
// from /proc/PID/task, and wake-ups from the voluntary context switches of each of its threads.
import { readFileSync, readdirSync } from 'node:fs';

const kib = (text, key) =>
  Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;

/** Voluntary context switches of each thread, by tid. */
function switchesByThread(pid, tids) {
  const switches = new Map();
  for (const tid of tids) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      switches.set(tid, Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0));
    } catch {
      // A thread that ended between readdir and read.
    }
  }
  return switches;
}

/** RSS and its parts (MiB), threads, and the voluntary context switches of each thread (by tid). */
export function footprint(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const tids = readdirSync(`/proc/${pid}/task`);
  return {
    at: performance.now(),
    rssMiB: kib(rollup, 'Rss'),
    pssMiB: kib(rollup, 'Pss'),
    anonMiB: kib(status, 'RssAnon'),
    fileMiB: kib(status, 'RssFile'),
    threads: tids.length,
    switches: switchesByThread(pid, tids),
  };
}

/**
 * Wake-ups per second between two footprints: each thread's voluntary context switches, counted
 * from 0 for a thread born in between; a thread that ended in between counts up to the first.
 */
export function wakeupsPerSecond(a, b) {
  let sum = 0;
  for (const [tid, n] of b.switches) sum += n - (a.switches.get(tid) ?? 0);
  return (sum * 1000) / (b.at - a.at);
}
