/**
 * `kms-agent git-credential get|store|erase`: git's credential helper protocol (docs/tools.md; git
 * runs `get` whenever a server asks for credentials, then `store` or `erase`), on the fast path (fastCommands.ts).
 *
 * Which host gets which token is the config's business: the [git] table, or --profile given in the
 * helper line. KMS_AGENT_PROFILE does not apply here: with it, every host that asked git for a
 * password would be sent that profile's token.
 */
import { readSync } from 'node:fs';
import { isLoopbackHost } from '../config/endpointRules.js';
import type { AgentError } from '../rpc/jsonRpc.js';
import { terminalLine } from '../rpc/terminalText.js';
import type { Params, Result } from '../rpc/methods.js';
import {
  agentRoute,
  configToCheck,
  parseCommandLine,
  usage,
  type FlagValues,
} from './commandLine.js';
import { reportError } from './exitCodes.js';
import { askAgent, fail, OK, print } from './tokenFastPath.js';

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
function readRequest(then: (text: string) => void): void {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(4096);
  const text = (): string => Buffer.concat(chunks).toString('utf8');
  try {
    for (let n; (n = readSync(0, buffer, 0, buffer.length, null)) > 0; ) {
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

/** A line for stderr quoting git's text: control characters removed (src/rpc/terminalText.ts). */
function quoted(text: string): string {
  return JSON.stringify(terminalLine(text));
}

/**
 * Where this request's token may go: the host as parsed, or a line for stderr saying why not, or ''
 * to pass quietly (no host, or a protocol other than http(s), such as smtp for send-email).
 */
function destination(request: CredentialRequest): { host: string } | string {
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

/** One `key=value` line; git reads a newline or NUL inside a value as the start of another key. */
function attribute(key: string, value: string | number): string {
  const text = String(value);
  if (/[\n\0]/.test(text)) throw usage(`the ${key} for git holds a newline or a NUL: check the [git] table`);
  return `${key}=${text}\n`;
}

function credentialLines(credential: Result<'git.credential'>): string {
  return attribute('username', credential.username) + attribute('password', credential.token) + attribute('password_expiry_utc', Math.floor(credential.expires_at));
}

/**
 * `get`: username, the token as password, and its expiry (git ≥ 2.41 uses it). A host this agent
 * has no profile for gets nothing, so git asks its next helper or the user; the reason is one line
 * on stderr. When the host is ours but no token can be had (not logged in, provider down), the
 * answer is `quit=1`, so git stops there rather than prompting for a password or trying a stale one.
 */
function answerGet(values: FlagValues, request: CredentialRequest, done: (exitCode: number) => void): void {
  const to = destination(request);
  if (typeof to === 'string') {
    if (to !== '') process.stderr.write(`kms-agent: ${to}\n`);
    return done(OK);
  }
  const params: Params<'git.credential'> = { host: to.host };
  const profile = typeof values.profile === 'string' ? values.profile : undefined;
  if (profile !== undefined) params.profile = profile;
  try {
    const config = configToCheck(agentRoute(values));
    if (config !== undefined) params.config = config;
  } catch (err) {
    return done(fail(err));
  }
  askAgent(agentRoute(values), 'git.credential', params, (err, credential) => {
    if (err === undefined) {
      try {
        const warning = credential!.warning;
        if (warning) process.stderr.write(`kms-agent: warning: ${warning}\n`);
        print(credentialLines(credential!));
        return done(OK);
      } catch (problem) {
        return done(fail(problem));
      }
    }
    const reason = (err as AgentError).reason;
    if (profile === undefined && reason === 'UNKNOWN_PROFILE') {
      reportError(err);
      return done(OK);
    }
    // Only a host that is ours stops git: without --profile, an agent that cannot be reached cannot say.
    if (profile !== undefined || !['NO_AGENT', 'AGENT_START_FAILED', 'AGENT_FAILED', 'INSECURE_SOCKET'].includes(reason)) print('quit=1\n');
    done(fail(err));
  });
}

export function runGitCredential(args: readonly string[], done: (exitCode: number) => void): void {
  let values: FlagValues;
  let action: string | undefined;
  try {
    const parsed = parseCommandLine(args, 'git-credential');
    values = parsed.values;
    action = parsed.operands[0];
    if (action === undefined) throw usage('git-credential takes the action git gives it (get, store or erase): configure it with `git config credential.helper "!kms-agent git-credential"`');
  } catch (err) {
    return done(fail(err));
  }
  readRequest((text) => {
    // store and erase: the agent keeps the login, there is nothing to store; newer actions are ignored, as the protocol asks.
    if (action !== 'get') return done(OK);
    answerGet(values, parseCredentialRequest(text), done);
  });
}
