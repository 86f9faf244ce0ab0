import type { Result } from '../../../rpc/methods.js';
import { browserTrouble } from './loginAdvice.js';

const say = (line: string): void => void process.stderr.write(line + '\n');

/** After this long without a login, a browser login on a terminal says what may be wrong. */
export const TROUBLE_HINT_AFTER_MS = 20_000;

/**
 * "Waiting…" with the seconds counting up, redrawn in place on a terminal; a single line when
 * stderr is a pipe or a file, so logs and scripts get no control characters. On a terminal, a
 * browser login (`authorizationUrl` set) that has not come back after 20 s says what the browser
 * may be showing: a provider that refuses the request shows an error page and never redirects.
 */
export function waitingIndicator(authorizationUrl: string | undefined): () => void {
  const text = 'Waiting for the login to complete (Ctrl-C cancels it)…';
  if (!process.stderr.isTTY) {
    say(text);
    return () => undefined;
  }
  const started = Date.now();
  const draw = (): void =>
    void process.stderr.write(`\r${text} ${Math.round((Date.now() - started) / 1000)}s`);
  draw();
  const timer = setInterval(draw, 1000);
  const hint =
    authorizationUrl === undefined
      ? undefined
      : setTimeout(() => {
          process.stderr.write(`\r\x1b[K${browserTrouble(authorizationUrl)}\n`);
          draw();
        }, TROUBLE_HINT_AFTER_MS);
  return () => {
    clearInterval(timer);
    clearTimeout(hint);
    process.stderr.write('\r\x1b[K');
  };
}

/**
 * RFC 8628 §3.3: the page to open and the code to type there, plus the link that carries the code.
 * One write, so a reader of the pipe (or a log) never sees the instructions cut in half.
 */
export function showDeviceCode(started: Result<'login.start'>): void {
  const page = started.verification_url ?? started.url;
  const lines = [
    `To log in to profile ${started.profile}, open this page on any device:`,
    `  ${page}`,
    `and enter the code: ${started.user_code ?? '(none given by the provider)'}`,
  ];
  if (started.url !== page)
    lines.push('or open this link, which carries the code:', `  ${started.url}`);
  const seconds = Math.max(0, Math.round(started.expires_at - Date.now() / 1000));
  lines.push(
    `The code expires in ${seconds < 120 ? `${seconds} seconds` : `${Math.round(seconds / 60)} minutes`}.`,
  );
  say(lines.join('\n'));
}
