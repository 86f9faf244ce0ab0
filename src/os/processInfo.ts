/**
 * What /proc tells the daemon about a process of the user at the other end of its socket: its
 * executable, command line, start time (with the pid, one process for its whole life) and
 * controlling terminal. Linux only; elsewhere each is unknown. Read when first needed (audit,
 * confirmation), never on the token path of a plain connection.
 */
import { readFileSync, readlinkSync } from 'node:fs';

export const UNKNOWN_EXECUTABLE = 'unknown';

/** /proc/PID/exe: the program's path; "unknown" when it cannot be read (a root client, gone). */
export function executableOf(pid: number): string {
  if (pid <= 0) return UNKNOWN_EXECUTABLE;
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return UNKNOWN_EXECUTABLE;
  }
}

/** The fields of /proc/PID/stat the daemon uses. */
export interface ProcessStat {
  /** Clock ticks after boot (field 22): with the pid, names one process for its whole life. */
  startTime: string;
  /** The controlling terminal's device number (field 7); 0 when it has none. */
  ttyNr: number;
}

export function processStat(pid: number): ProcessStat | undefined {
  if (pid <= 0) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from after its last `) `.
    const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
    return { startTime: fields[19]!, ttyNr: Number(fields[4]) };
  } catch {
    return undefined;
  }
}

/**
 * The terminal device a tty_nr names: pseudo-terminals (majors 136–143) are /dev/pts/N, the
 * virtual consoles (major 4, minors below 64) /dev/ttyN; any other is undefined.
 */
export function terminalOf(ttyNr: number): string | undefined {
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `/dev/pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor > 0 && minor < 64) return `/dev/tty${minor}`;
  return undefined;
}

/** /proc/PID/cmdline with its arguments separated by spaces, or undefined. */
export function commandLineOf(pid: number): string | undefined {
  if (pid <= 0) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text.split('\0').filter(Boolean).join(' ') || undefined;
  } catch {
    return undefined;
  }
}

/** One variable of /proc/PID/environ (the terminal's type, for a prompt there), or undefined. */
export function environmentOf(pid: number, name: string): string | undefined {
  if (pid <= 0) return undefined;
  try {
    const prefix = `${name}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith(prefix));
    return entry?.slice(prefix.length);
  } catch {
    return undefined;
  }
}
