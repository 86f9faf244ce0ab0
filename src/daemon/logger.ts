import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Every field that could carry a secret is censored wherever it appears, one or two levels deep.
 * The code never passes secrets to the logger; this is the net under that rule.
 */
const SECRET_FIELDS = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'client_secret',
  'device_code',
  'authorization',
  'password',
];
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/** Foreground: JSON lines on stderr. Detached: the 0600 agent.log (docs/configuration.md). */
export function createLogger(level: string, logFile?: string): Logger {
  const destination = logFile
    ? pino.destination({ dest: logFile, mode: 0o600, sync: false })
    : pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
