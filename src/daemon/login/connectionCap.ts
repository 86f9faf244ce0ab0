import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The login listener's bound on open connections, which nobody on the machine can hold: when it is
 * full, the oldest connection that has not sent a complete request is closed, never the newest. A
 * browser sends its request as soon as it connects, so a flood of connections that never send
 * only keeps evicting itself, and the real callback gets through (docs/SECURITY.md).
 *
 * The eviction waits for the next turn of the event loop: a connection accepted in the same batch
 * as many others has its request read only then, and would otherwise be evicted unread. Until that
 * turn, at most `hardLimit` connections are open.
 */
export interface CapLimits {
  maxConnections: number;
  hardLimit: number;
  /** A connection that has not sent its first byte by then is closed. */
  firstByteMs: number;
}

interface Tracked {
  socket: Socket;
  /** A complete request is being answered: never evicted. */
  answering: boolean;
}

export class ConnectionCap {
  /** In order of arrival: the first evictable one is the oldest. */
  private readonly open = new Set<Tracked>();
  private sweepPending = false;

  constructor(private readonly limits: CapLimits) {}

  /** Puts a server's connections under the cap. */
  watch(server: Server): void {
    const bySocket = new WeakMap<Socket, Tracked>();
    server.on('connection', (socket: Socket) => {
      const tracked: Tracked = { socket, answering: false };
      bySocket.set(socket, tracked);
      this.open.add(tracked);
      const firstByte = setTimeout(() => {
        if (socket.bytesRead === 0) socket.destroy();
      }, this.limits.firstByteMs);
      socket.once('close', () => {
        clearTimeout(firstByte);
        this.open.delete(tracked);
      });
      this.admit(tracked);
    });
    server.on('request', (req, res) => {
      const tracked = bySocket.get(req.socket);
      if (tracked === undefined) return;
      tracked.answering = true;
      res.once('close', () => (tracked.answering = false));
    });
  }

  private admit(newest: Tracked): void {
    if (this.open.size > this.limits.hardLimit) this.evict(this.limits.hardLimit);
    // Only requests being answered are left: those are few, and the newcomer is the one to go.
    if (this.open.size > this.limits.hardLimit) return void newest.socket.destroy();
    if (this.open.size <= this.limits.maxConnections || this.sweepPending) return;
    this.sweepPending = true;
    // The first setImmediate runs before this turn's new connections are read, the second after.
    setImmediate(() =>
      setImmediate(() => {
        this.sweepPending = false;
        this.evict(this.limits.maxConnections);
      }),
    );
  }

  /** Closes connections until `limit` are left: those that sent nothing, then partial requests. */
  private evict(limit: number): void {
    for (const silentOnly of [true, false]) {
      for (const tracked of this.open) {
        if (this.open.size <= limit) return;
        if (tracked.answering || (silentOnly && tracked.socket.bytesRead > 0)) continue;
        this.open.delete(tracked);
        tracked.socket.destroy();
      }
    }
  }
}
