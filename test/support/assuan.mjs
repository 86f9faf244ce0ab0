// A minimal Assuan client for the tests (not the product's): the line protocol gpg-agent speaks to
// pinentry over the program's stdin and stdout. The server greets `OK …`; each request is one
// line, answered by `D data` and `S status` lines and a final `OK …` or `ERR code text`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** gpg-error codes pinentry answers with (source Pinentry = 5 << 24). */
export const ASSUAN_ERRORS = { cancelled: 83886179, notConfirmed: 83886194, timeout: 83886142 };

const escapeOne = (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** Escapes a request argument or a data line: `%`, CR and LF as %XX. */
export const assuanEscape = (text) => String(text).replace(/[%\r\n]/g, escapeOne);

/** Undoes %XX escapes: the escaped bytes and the plain text together are UTF-8. */
export function assuanUnescape(text) {
  const parts = text.split(/(%[0-9A-Fa-f]{2})/);
  const bytes = parts.map((p, i) =>
    i % 2 ? Buffer.from([parseInt(p.slice(1), 16)]) : Buffer.from(p, 'utf8'),
  );
  return Buffer.concat(bytes).toString('utf8');
}

/**
 * Starts an Assuan server program and waits for its greeting. Returns { child, greeting,
 * request(line) → { ok, data, status, code, message, lines }, exited, close() }.
 */
export async function startAssuan(program, args = [], { env = process.env } = {}) {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  const lines = createInterface({ input: child.stdout });
  const pending = [];
  let reply = newReply();
  lines.on('line', (line) => {
    reply.lines.push(line);
    if (line.startsWith('D ')) reply.data += assuanUnescape(line.slice(2));
    else if (line.startsWith('S ')) reply.status.push(line.slice(2));
    else if (/^(OK|ERR)( |$)/.test(line)) {
      const done = reply;
      reply = newReply();
      done.ok = line.startsWith('OK');
      const [, code, message] = /^ERR (\d+) ?(.*)$/.exec(line) ?? [];
      if (!done.ok) Object.assign(done, { code: Number(code), message });
      pending.shift()?.resolve(done);
    }
  });
  exited.then(({ code, signal }) => {
    const gone = `${program} exited (${code ?? signal}) before answering; stderr: ${stderr}`;
    for (const waiter of pending.splice(0)) waiter.reject(new Error(gone));
  });
  const answer = () => new Promise((resolve, reject) => pending.push({ resolve, reject }));
  const greeting = await answer();
  return {
    child,
    greeting,
    exited,
    /** Sends one request line (its argument escaped with assuanEscape); resolves with the reply. */
    request(line) {
      const replied = answer();
      child.stdin.write(`${line}\n`);
      return replied;
    },
    /** Says BYE and waits for the program to exit; kills it if it does not within `ms`. */
    async close(ms = 2000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end('BYE\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}

function newReply() {
  return { ok: false, data: '', status: [], code: undefined, message: undefined, lines: [] };
}
