import type { Socket } from 'node:net';
import { peerCredentials } from '../os/libc.js';
import {
  commandLineOf,
  executableOf,
  processStat,
  terminalOf,
  type ProcessStat,
} from '../os/processInfo.js';

/**
 * The process at the other end of a connection: its pid and uid from the kernel, read once at
 * accept (docs/SECURITY.md), and what /proc says of it, read when first needed (the audit, a
 * confirmation). A process inside a pid namespace (a sandbox) is seen with its pid out here.
 */
export class Peer {
  private exePath: string | undefined;
  private stat: ProcessStat | null | undefined;

  constructor(
    readonly pid: number,
    readonly uid: number,
  ) {}

  /** Where the kernel cannot say (an unsupported platform): only the socket's modes decide. */
  static readonly UNKNOWN = new Peer(-1, -1);

  get exe(): string {
    return (this.exePath ??= executableOf(this.pid));
  }

  private get facts(): ProcessStat | null {
    if (this.stat === undefined) this.stat = processStat(this.pid) ?? null;
    return this.stat;
  }

  /** With the pid, one process for its whole life (a reused pid has another start time). */
  get startTime(): string | undefined {
    return this.facts?.startTime;
  }

  /** The controlling terminal's device (/dev/pts/N), when the process has one. */
  get terminal(): string | undefined {
    const ttyNr = this.facts?.ttyNr;
    return ttyNr ? terminalOf(ttyNr) : undefined;
  }

  get commandLine(): string | undefined {
    return commandLineOf(this.pid);
  }

  /** May this peer use the agent: its own user, or root (who can read its memory anyway). */
  get trusted(): boolean {
    return this === Peer.UNKNOWN || this.uid === OWN_UID || this.uid === 0;
  }
}

const OWN_UID = process.getuid?.() ?? -1;

const KERNEL_SAYS = process.platform === 'linux' || process.platform === 'darwin';

/**
 * The peer of an accepted connection, from the kernel (SO_PEERCRED; getpeereid on macOS).
 * Undefined where the platform has the call but it failed: the connection is refused rather than
 * served unchecked. Peer.UNKNOWN where the platform has no such call.
 */
export function peerOf(socket: Socket): Peer | undefined {
  if (!KERNEL_SAYS) return Peer.UNKNOWN;
  // Node keeps the descriptor on its internal handle.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  const credentials = typeof fd === 'number' && fd >= 0 ? peerCredentials(fd) : undefined;
  return credentials && new Peer(credentials.pid, credentials.uid);
}
