#!/usr/bin/env node
// A pinentry that answers from a script instead of a person: it speaks Assuan on stdin/stdout as
// the real ones do (greeting, OPTION and SET* take OK, GETINFO pid/version/flavor, unknown commands
// get pinentry's ERR), answers CONFIRM and GETPIN from the behaviour file, and appends every line
// it received (and its start, answers and end) to the log file as JSON lines, so a test can count
// prompts and read what the user was shown.
//
// KMS_TEST_PINENTRY_LOG        the log file (required): JSON lines {pid, at, start|line|answer|end}
// KMS_TEST_PINENTRY_BEHAVIOUR  a JSON file, read at each CONFIRM/GETPIN (a test may change it):
//   { "confirm": ANSWER or [ANSWER…], "getpin": ANSWER or [ANSWER…], "delayMs": 0 }
//   ANSWER: "allow" (CONFIRM only), "passphrase TEXT" (GETPIN only), "deny", "no-tty", "hang".
//   A list gives the Nth CONFIRM (or GETPIN) in the log, over all runs, its Nth answer; the last
//   one repeats. "hang" never answers (as a pinentry no one looks at), but honours SETTIMEOUT as
//   pinentry does, and stays alive when its input closes, as the real pinentry-tty does.
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { assuanEscape } from '../assuan.mjs';

const LOG = process.env.KMS_TEST_PINENTRY_LOG;
const BEHAVIOUR = process.env.KMS_TEST_PINENTRY_BEHAVIOUR;
// A hung pinentry nobody ends still goes after this long, so a test run leaves no process behind.
const HANG_LIMIT_MS = 5 * 60_000;

const ERR = {
  cancelled: 'ERR 83886179 Operation cancelled <Pinentry>',
  noTty: 'ERR 83918950 Inappropriate ioctl for device <Pinentry>',
  timeout: 'ERR 83886142 Timeout <Pinentry>',
  unknown: 'ERR 536871187 Unknown IPC command <User defined source 1>',
};

const log = (entry) => {
  const line = JSON.stringify({ pid: process.pid, at: Date.now(), ...entry });
  if (LOG) appendFileSync(LOG, `${line}\n`);
};
// The log is for counting and reading prompts: a passphrase handed back is not written there.
const send = (line) => {
  log({ answer: line.startsWith('D ') ? 'D [data]' : line });
  process.stdout.write(`${line}\n`);
};

/** The behaviour's Nth answer for the Nth such command in the log (this one included). */
function answerFor(command) {
  const behaviour = JSON.parse(readFileSync(BEHAVIOUR, 'utf8'));
  const answers = [behaviour[command.toLowerCase()] ?? []].flat();
  const lines = readFileSync(LOG, 'utf8').split('\n').filter(Boolean);
  const seen = lines.filter((l) => JSON.parse(l).line?.split(' ')[0] === command).length;
  return { answer: answers[Math.min(seen, answers.length) - 1], delayMs: behaviour.delayMs ?? 0 };
}

let timeoutSeconds = 0;
let hanging = false;
let inputClosed = false;

function respond(command, answer) {
  if (answer === 'allow' && command === 'CONFIRM') return send('OK');
  if (answer?.startsWith('passphrase ') && command === 'GETPIN') {
    send(`D ${assuanEscape(answer.slice('passphrase '.length))}`);
    return send('OK');
  }
  if (answer === 'deny') return send(ERR.cancelled);
  if (answer === 'no-tty') return send(ERR.noTty);
  if (answer === 'hang') {
    hanging = true;
    // This timer also keeps the process alive once its input has closed.
    setTimeout(() => process.exit(1), HANG_LIMIT_MS);
    if (timeoutSeconds > 0) {
      setTimeout(() => {
        hanging = false;
        send(ERR.timeout);
        drain();
      }, timeoutSeconds * 1000);
    }
    return undefined;
  }
  return send(`ERR 83886081 scripted pinentry: no answer for ${command} (${answer}) <Pinentry>`);
}

function end() {
  log({ end: 'bye' });
  process.exit(0);
}

log({ start: process.argv.slice(2) });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    log({ end: signal });
    process.exit(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]);
  });
}

// The caller went away: nothing is left to answer.
process.stdout.on('error', () => {
  log({ end: 'caller gone' });
  process.exit(0);
});
send('OK Pleased to meet you');
const input = createInterface({ input: process.stdin });
const queue = [];
let busy = false;

// One request at a time, in order, as Assuan has it; a hung one holds the rest. When the input has
// closed and nothing is left to answer, the program ends, as after BYE.
async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length && !hanging) await handle(queue.shift());
  busy = false;
  if (inputClosed && !hanging && queue.length === 0) end();
}

async function handle(line) {
  const [command, ...rest] = line.split(' ');
  if (command === 'BYE') {
    send('OK closing connection');
    end();
  } else if (command === 'CONFIRM' || command === 'GETPIN') {
    const { answer, delayMs } = answerFor(command);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    respond(command, answer);
  } else if (command === 'GETINFO') {
    const info = { pid: String(process.pid), version: '1.2.1', flavor: 'scripted' }[rest[0]];
    if (info) send(`D ${info}`);
    send('OK');
  } else if (command === 'SETTIMEOUT') {
    timeoutSeconds = Number(rest[0]) || 0;
    send('OK');
  } else if (/^(OPTION|SET[A-Z]*|RESET|NOP|MESSAGE)$/.test(command)) send('OK');
  else send(ERR.unknown);
}

input.on('line', (line) => {
  log({ line });
  queue.push(line);
  drain();
});
input.on('close', () => {
  inputClosed = true;
  drain();
});
