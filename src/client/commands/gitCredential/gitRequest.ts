/**
 * git's side of the credential helper protocol (docs/tools.md): the request git writes on stdin,
 * read and parsed as git means it, and where its token may go.
 */
import { readSync } from 'node:fs';
import { isLoopbackHost } from '../../../config/endpointRules.js';
import { terminalLine } from '../../../text/terminalText.js';

/** What git sends: `key=value` lines (protocol, host, path, username…), up to a blank line. */
export type CredentialRequest = Map<string, string>;

/**
 * The lines, in order. A `url` stands for its parts, as in git: it replaces the protocol and host
 * read before it, and those after it replace its own (an unparsable url leaves a host to refuse).
 */
export function parseCredentialRequest(text: string): CredentialRequest {
  const request: CredentialRequest = new Map();
  for (const line of text.split('\n')) {
    const entry = line.replace(/\r$/, '');
    if (entry === '') break;
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const [key, value] = [entry.slice(0, eq), entry.slice(eq + 1)];
    if (key !== 'url') {
      request.set(key, value);
      continue;
    }
    const url = URL.canParse(value) ? new URL(value) : undefined;
    // Unparsable: its scheme and what stands where the host would, for destination() to refuse.
    const [, scheme = '', rest = ''] = /^([^:/]*):\/\/([^/]*)/.exec(value) ?? [];
    request.set('protocol', url ? url.protocol.slice(0, -1) : scheme.toLowerCase());
    request.set('host', url ? url.host : rest);
  }
  return request;
}

/** A blank line ends git's request. */
const REQUEST_END = /(?:^|\n)\r?\n/;

/**
 * Reads git's request from stdin, up to the blank line that ends it, or its end. Synchronously:
 * setting up process.stdin costs about 3 ms of CPU, a tenth of this command. A non-blocking stdin
 * (EAGAIN) is read as a stream instead.
 */
export function readRequest(then: (text: string) => void): void {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(4096);
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  try {
    for (let n; (n = readSync(0, buffer, 0, buffer.length, null)) > 0;) {
      chunks.push(Buffer.from(buffer.subarray(0, n)));
      if (REQUEST_END.test(text())) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return readStream(text(), then);
    // EOF on a closed stdin, and the like: the request is what was read.
  }
  then(text());
}

function readStream(start: string, then: (text: string) => void): void {
  let text = start;
  let finished = false;
  const stdin = process.stdin;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    stdin.destroy();
    then(text);
  };
  stdin.setEncoding('utf8');
  stdin.on('data', (chunk: string) => {
    text += chunk;
    if (REQUEST_END.test(text)) finish();
  });
  stdin.once('end', finish);
  stdin.once('error', finish);
}

/**
 * git's host (`name`, `name:port`, `[v6]:port`), parsed as the URL git will send the password to
 * (WHATWG URL, as browsers and curl read it); undefined when it is not one host and port alone.
 */
function parsedHost(protocol: string, host: string): URL | undefined {
  const text = `${protocol}://${host}/`;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const hostAlone = url && url.pathname === '/' && !url.username && !url.password;
  return hostAlone && !url.search && !url.hash ? url : undefined;
}

/** A line for stderr quoting git's text: control characters removed (src/text/terminalText.ts). */
function quoted(text: string): string {
  return JSON.stringify(terminalLine(text));
}

/**
 * Where this request's token may go: the host as parsed, or a line for stderr saying why not, or ''
 * to pass quietly (no host, or a protocol other than http(s), such as smtp for send-email).
 */
export function destination(request: CredentialRequest): { host: string } | string {
  const protocol = request.get('protocol');
  const host = request.get('host');
  if (!host || (protocol !== 'https' && protocol !== 'http')) return '';
  const url = parsedHost(protocol, host);
  if (url === undefined) {
    return `git's host ${quoted(host)} is not a host name or address: no token for it`;
  }
  // Plain http keeps the token on this machine only: the rule of the agent's own endpoints, held to
  // the host as parsed.
  if (protocol === 'http' && !isLoopbackHost(url.hostname)) {
    return `refusing to send a token over plain http to ${url.host}: use an https:// URL for it`;
  }
  return { host: url.host };
}
