import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError } from './configError.js';
import { isTable, type Table } from './configValues.js';
import { untrustedBecause } from './fileTrust.js';

/** A config file's text, and its status as read (for the warning about a readable secret). */
export interface FileText {
  text: string;
  stat: Stats;
}

/**
 * The file's text, or undefined when it does not exist. It is refused, before a byte of it is
 * used, when someone other than its user could have changed it (fileTrust.ts); any other failure
 * stops the agent. The checks and the read use one descriptor, so the file checked is the one read.
 */
export function readTrustedFile(file: string): FileText | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cannotRead(file, err);
  }
  try {
    const stat = fstatSync(fd);
    const untrusted = untrustedBecause(file, stat);
    if (untrusted) throw new ConfigError(`refusing to use this file: ${untrusted}`, { file });
    return { text: readFileSync(fd, 'utf8'), stat };
  } catch (err) {
    throw err instanceof ConfigError ? err : cannotRead(file, err);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(file: string, err: unknown): ConfigError {
  return new ConfigError(
    `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    { file },
  );
}

/** A warning when a file holding a client_secret can be read by other users. */
export function exposedSecretWarning(file: string, stat: Stats): string | undefined {
  if (process.platform === 'win32') return undefined; // no POSIX mode bits to judge by
  if ((stat.mode & 0o044) === 0) return undefined;
  return `${file} holds a client_secret and is readable by group or others: run chmod 600 ${file}`;
}

export function parseTomlText(file: string, source: string): Table {
  try {
    return parseToml(source);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    const hint = unclosedQuoteHint(source, err);
    const where = `line ${err.line}, column ${err.column}`;
    throw new ConfigError(`invalid TOML at ${where}: ${reason}${hint}`, { file });
  }
}

/**
 * A string that runs to the end of its line (smol-toml: a control character in a string, the line
 * break) or of the file is, nearly always, a closing quote forgotten: said, since the parser's
 * words point elsewhere.
 */
function unclosedQuoteHint(source: string, err: TomlError): string {
  const line = (source.split('\n')[err.line - 1] ?? '').replace(/\r$/, '');
  const controlAtEnd = /control characters are not allowed in strings/.test(err.message);
  const unfinished = /unfinished string/.test(err.message);
  const unclosed = (controlAtEnd && err.column > line.length) || unfinished;
  return unclosed ? ` (an unclosed quote on line ${err.line}?)` : '';
}

export function parseJsonText(file: string, source: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    // V8 reports a character offset; people look for lines.
    const message = (err as Error).message;
    const offset = /at position (\d+)/.exec(message);
    const lines = offset ? source.slice(0, Number(offset[1])).split('\n') : undefined;
    const where = lines ? ` at line ${lines.length}, column ${lines.at(-1)!.length + 1}` : '';
    throw new ConfigError(
      `invalid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      { file },
    );
  }
  if (!isTable(value))
    throw new ConfigError('invalid JSON: expected an object at the top level', { file });
  return value;
}
