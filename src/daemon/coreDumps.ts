import { writeFileSync } from 'node:fs';
import { makeNonDumpable } from '../os/libc.js';

/**
 * A core file of the daemon would hold every token and refresh token in its heap. On Linux the
 * daemon clears its own coredump_filter, so that a core dump (or gcore, which root can still take)
 * holds no memory mapping at all, only registers. The service units also set the core size limit
 * to 0 (systemd/, launchd/).
 */
export function keepMemoryOutOfCoreDumps(): void {
  if (process.platform !== 'linux') return;
  try {
    writeFileSync('/proc/self/coredump_filter', '0');
  } catch {
    // No /proc (a sandbox): nothing to clear.
  }
}

/**
 * Then, as ssh-agent does, the daemon makes itself non-dumpable (libc.ts): no core file at all,
 * and other processes of the user can no longer read its /proc/PID/mem or environ, nor ptrace it.
 * Root still can. A failure is not fatal: the filter above still keeps memory out of a core.
 */
export function makeUndumpable(): void {
  try {
    makeNonDumpable();
  } catch {
    // An FFI that cannot load here: the coredump_filter still holds.
  }
}
