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
const SECRET = new Set(SECRET_FIELDS);
const CENSOR = '[redacted]';
/** How deep below a line's own fields a secret field is still found: `{ grant: { set: { token } } }`. */
const NESTED_LEVELS = 2;

type Fields = Record<string, unknown>;

/**
 * The line's fields with any secret field one or two levels down censored, in a copy (the caller's
 * objects are never changed); the fields themselves when none is there, which is always. pino's
 * `redact` takes the line's own fields (and a child logger's). Its wildcard paths (`*.token`) would
 * take the nested ones too, but they re-parse every path for every field of every line: after the
 * first few lines V8 compiles that parser with its optimizing compiler, which alone kept 1.3 MiB
 * more of node resident in an idle agent (its pages in /proc/PID/pagemap, against an agent without
 * it; bench/compare/idleRss.mjs measures the idle agent).
 */
export function censorNested(fields: Fields): Fields {
  return censorBelow(fields, 0) as Fields;
}

function censorBelow(value: object, level: number): object {
  let copy: Fields | unknown[] | undefined;
  const record = value as Fields;
  for (const key of Object.keys(record)) {
    const field = record[key];
    let censored = field;
    if (level > 0 && SECRET.has(key)) censored = CENSOR;
    else if (level < NESTED_LEVELS && isPlain(field)) censored = censorBelow(field, level + 1);
    if (censored === field) continue;
    copy ??= Array.isArray(value) ? [...(value as unknown[])] : { ...record };
    (copy as Fields)[key] = censored;
  }
  return copy ?? value;
}

/** An object or array of plain data; an Error or a class instance is its serializer's business. */
function isPlain(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Foreground: JSON lines on stderr. Detached: the 0600 agent.log (docs/configuration.md). */
export function createLogger(level: string, logFile?: string): Logger {
  const destination = logFile
    ? pino.destination({ dest: logFile, mode: 0o600, sync: false })
    : pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: SECRET_FIELDS, censor: CENSOR },
      formatters: { log: censorNested },
    },
    destination,
  );
}
