// pinentry, gpg-agent's prompt program, for the tests: a real Debian one (pinentry-tty,
// pinentry-curses) drawn on a tmux pane whose tty name is passed as `--ttyname`, as a daemon
// spawns it for a client's terminal; and a scripted one that answers from a file and logs every
// request, for the cases no person is needed for (counting prompts, hanging, delays).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, join } from 'node:path';
import { startAssuan, assuanUnescape } from './assuan.mjs';
import { shellQuote } from './tools/processRun.mjs';

export { ASSUAN_ERRORS, assuanEscape, assuanUnescape, startAssuan } from './assuan.mjs';
export { startTerminal } from './terminal.mjs';

const SCRIPTED = fileURLToPath(new URL('./tools/scriptedPinentry.mjs', import.meta.url));

/**
 * Starts a real pinentry for `terminal` as a daemon would: `--ttyname` (or, with `viaOption`,
 * `OPTION ttyname=`), the terminal's type, and a UTF-8 locale (pinentry-curses warns without
 * one). Returns the Assuan session (./assuan.mjs).
 */
export async function startRealPinentry(program, terminal, { viaOption = false } = {}) {
  const session = await startAssuan(program, viaOption ? [] : ['--ttyname', terminal.tty]);
  const options = [`ttytype=${terminal.term}`, 'lc-ctype=C.UTF-8'];
  if (viaOption) options.unshift(`ttyname=${terminal.tty}`);
  for (const option of options) {
    const reply = await session.request(`OPTION ${option}`);
    if (!reply.ok) throw new Error(`${program} refused OPTION ${option}: ${reply.lines.join(' ')}`);
  }
  return session;
}

/**
 * The keys that press a CONFIRM button of a real pinentry. pinentry-tty lists the buttons and
 * reads one letter: a label's initial (or the letter after its `_`), lower-cased; two labels with
 * the same initial make that letter press the last one. pinentry-curses (and pinentry-gnome3's
 * curses fallback) focuses OK first: Enter presses it, Tab moves to Cancel. Neither answered
 * Escape or Ctrl-C within 2 s here (pinentry 1.2.1); SETTIMEOUT ends a prompt instead.
 */
export function confirmKeys(program, answer, labels = { ok: 'OK', cancel: 'Cancel' }) {
  if (basename(program) === 'pinentry-tty') {
    const label = answer === 'ok' ? labels.ok : labels.cancel;
    return [(label.includes('_') ? label[label.indexOf('_') + 1] : label[0]).toLowerCase()];
  }
  return answer === 'ok' ? ['Enter'] : ['Tab', 'Enter'];
}

/** Types a passphrase at a real pinentry's GETPIN (neither echoes it) and presses Enter. */
export async function typePassphrase(terminal, passphrase) {
  await terminal.type(passphrase);
  await terminal.press('Enter');
}

/**
 * A scripted pinentry in `dir`: `program` is an executable that runs ./tools/scriptedPinentry.mjs
 * with its log and behaviour files fixed (a daemon may not pass the test's environment on).
 */
export function scriptedPinentry(dir, behaviour = { confirm: 'allow' }) {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'pinentry.log');
  const behaviourFile = join(dir, 'pinentry-behaviour.json');
  const program = join(dir, 'pinentry-scripted');
  writeFileSync(log, '');
  writeFileSync(behaviourFile, JSON.stringify(behaviour));
  const script = [
    '#!/bin/sh',
    `export KMS_TEST_PINENTRY_LOG=${shellQuote(log)}`,
    `export KMS_TEST_PINENTRY_BEHAVIOUR=${shellQuote(behaviourFile)}`,
    `exec ${shellQuote(process.execPath)} ${shellQuote(SCRIPTED)} "$@"`,
  ];
  writeFileSync(program, `${script.join('\n')}\n`, { mode: 0o755 });
  const entries = () =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const requests = (command) =>
    entries().filter((e) => e.line !== undefined && e.line.split(' ')[0] === command);
  return {
    program,
    log,
    /** Changes the answers; the next CONFIRM or GETPIN reads them. */
    setBehaviour: (next) => writeFileSync(behaviourFile, JSON.stringify(next)),
    /** Every log entry, {pid, at} and one of: start (argv), line, answer, end. */
    entries,
    /** The request lines received with this command word ('CONFIRM', 'SETDESC', …). */
    requests,
    /** How many prompts were shown: CONFIRM and GETPIN requests, over every run. */
    prompts: () => requests('CONFIRM').length + requests('GETPIN').length,
    /** The descriptions shown (SETDESC), unescaped. */
    descriptions: () =>
      requests('SETDESC').map((e) => assuanUnescape(e.line.slice('SETDESC '.length))),
    /** The argv of every run (a daemon passes --ttyname there, or in OPTION ttyname=). */
    runs: () =>
      entries()
        .filter((e) => e.start)
        .map((e) => ({ pid: e.pid, argv: e.start })),
  };
}
