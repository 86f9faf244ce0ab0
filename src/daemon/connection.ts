import type { AuditedConnection } from './control/auditLog.js';

/** What a handler may learn about the connection it serves: who is there (its peer), and more. */
export interface ConnectionContext extends AuditedConnection {
  /** Runs `fn` when the client hangs up (e.g. Ctrl-C on `kms-agent login`). */
  onClose(fn: () => void): void;
}
