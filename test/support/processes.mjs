// The machine's processes as /proc shows them to any user: what `ps` would list; and which commands it has.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** True when `name` is a command on the PATH. */
export const hasCommand = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every process's command line: [{pid, args}]. */
export function allCommandLines() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      found.push({
        pid: Number(entry),
        args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/** The parent of a process (field 4 of /proc/PID/stat, after the parenthesised command name). */
export function parentPid(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Waits up to `ms` for a child of `parent` running exactly `args`: its {pid, args}, or undefined. */
export async function waitForChild(parent, args, ms) {
  const wanted = args.join('\0');
  for (let waited = 0; waited < ms; waited += 50) {
    await sleep(50);
    const found = allCommandLines().find(
      (p) => p.args.join('\0') === wanted && parentPid(p.pid) === parent,
    );
    if (found) return found;
  }
  return undefined;
}

/** Processes running dist/daemon/daemon.cjs with a --socket inside `dir`, as [{pid, socket}]. */
export function daemonsUnder(dir) {
  const found = [];
  for (const { pid, args } of allCommandLines()) {
    if (!args.some((a) => a.endsWith(join('dist', 'daemon', 'daemon.cjs')))) continue;
    const socket = args[args.indexOf('--socket') + 1];
    if (args.includes('--socket') && socket?.startsWith(dir + '/')) found.push({ pid, socket });
  }
  return found;
}
