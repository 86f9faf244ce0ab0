import { writeFileSync } from 'node:fs';

/**
 * A core file of the daemon would hold every token and refresh token in its heap. Node cannot
 * call prctl(PR_SET_DUMPABLE) without a native addon, so on Linux the daemon clears its own
 * coredump_filter instead: a core dump (or gcore) then holds no memory mapping at all, only
 * registers. The service units also set the core size limit to 0 (systemd/, launchd/).
 */
export function keepMemoryOutOfCoreDumps(): void {
  if (process.platform !== 'linux') return;
  try {
    writeFileSync('/proc/self/coredump_filter', '0');
  } catch {
    // No /proc (a sandbox): nothing to clear.
  }
}
