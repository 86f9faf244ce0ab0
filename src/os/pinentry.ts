/**
 * pinentry, gpg-agent's prompt program, over the Assuan line protocol: the agent's confirmations
 * (CONFIRM) and the CLI's passphrase (GETPIN). The program is the user's choice (the config's
 * `pinentry_program`, then KMS_AGENT_PINENTRY), else the first one found in PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Tried in this order when none is named; graphical ones fall back to the terminal. */
export const PINENTRY_PROGRAMS = [
  'pinentry-gnome3',
  'pinentry-qt',
  'pinentry-curses',
  'pinentry-tty',
  'pinentry',
];

/** gpg-error codes a pinentry answers with (source Pinentry = 5 << 24). */
export const PINENTRY_ERRORS = { cancelled: 83886179, notConfirmed: 83886194, timeout: 83886142 };

/** The program to run, found; undefined when none is. */
export function findPinentry(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const named = configured ?? (env.KMS_AGENT_PINENTRY || undefined);
  const wanted = named === undefined ? PINENTRY_PROGRAMS : [named];
  for (const program of wanted) {
    const found = isAbsolute(program) ? [program] : inPath(program, env);
    const runnable = found.find((path) => executable(path));
    if (runnable !== undefined) return runnable;
  }
  return undefined;
}

function inPath(program: string, env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, program));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An Assuan argument: `%`, CR and LF escaped as %XX. */
export function assuanEscape(text: string): string {
  return text.replace(
    /[%\r\n]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

function assuanUnescape(text: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25 && i + 2 < raw.length) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 3).toString('latin1'), 16));
      i += 2;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One answer: OK (with any D data), or ERR with its code. */
export interface AssuanReply {
  ok: boolean;
  data: string;
  code?: number;
  message?: string;
}

const EXITED: AssuanReply = { ok: false, data: '', message: 'pinentry exited' };

/** A running pinentry: one request at a time, then `close`. */
export class PinentrySession {
  private buffered = '';
  private data = '';
  private waiting: ((reply: AssuanReply) => void) | undefined;
  private gone = false;
  readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.receive(chunk));
    child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    void this.exited.then(() => {
      this.gone = true;
      this.answer(EXITED);
    });
  }

  /** Starts `program` and waits for its greeting; rejects when it cannot run or does not greet. */
  static async start(
    program: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ): Promise<PinentrySession> {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'ignore'], env });
    const session = new PinentrySession(child);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const greeting = await session.next();
    if (!greeting.ok) {
      session.kill();
      throw new Error(`${program} did not start: ${greeting.message ?? 'no greeting'}`);
    }
    return session;
  }

  /** Sends one request line (its argument already escaped) and resolves with the answer. */
  request(line: string): Promise<AssuanReply> {
    if (this.gone) return Promise.resolve(EXITED);
    const reply = this.next();
    this.child.stdin!.write(`${line}\n`);
    return reply;
  }

  /** Ends it at once: a prompt left on a terminal would keep reading the user's keys. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  private next(): Promise<AssuanReply> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private answer(reply: AssuanReply): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.data = '';
    waiting?.(reply);
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) !== -1) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line.startsWith('D ')) this.data += assuanUnescape(line.slice(2));
      else if (line === 'OK' || line.startsWith('OK ')) this.answer({ ok: true, data: this.data });
      else if (line.startsWith('ERR ')) {
        const [, code, message] = /^ERR (\d+) ?(.*)$/.exec(line) ?? [];
        this.answer({ ok: false, data: '', code: Number(code), message: message ?? line });
      }
    }
  }
}
