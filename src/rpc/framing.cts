/** Newline-delimited framing: one JSON-RPC message per line, each line at most MAX_LINE_BYTES. */

export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream into lines. Returns false once a line grows past the cap, after which
 * the caller must close the connection (the rest of the stream cannot be trusted to resync).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onLine: (line: string) => void, private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): boolean {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxBytes) return false;
      let line: string;
      if (this.pendingBytes === 0) {
        line = piece.toString('utf8');
      } else {
        this.pending.push(piece);
        line = Buffer.concat(this.pending, this.pendingBytes + piece.length).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > 0 && line !== '\r') this.onLine(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxBytes) return false;
      this.pending.push(rest);
    }
    return true;
  }
}
