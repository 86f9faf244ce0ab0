// The pinentry test support works against the real programs: a real Debian pinentry (pinentry-tty,
// pinentry-curses), started by this process with `--ttyname` of a tmux pane, as the daemon will
// start it for a client's terminal, draws its prompt on that pane and answers Assuan with what was
// typed there; and the scripted pinentry answers and logs as the tests that count prompts need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import {
  ASSUAN_ERRORS,
  assuanEscape,
  confirmKeys,
  scriptedPinentry,
  startAssuan,
  startRealPinentry,
  startTerminal,
  typePassphrase,
} from './support/pinentry.mjs';
import { hasCommand } from './support/processes.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const noTmux = !hasCommand('tmux') && 'needs tmux';
const LABELS = { ok: 'Allow', cancel: 'Deny' };
const DESCRIPTION = 'Allow /usr/bin/git (pid 4242)\nto get a token of profile "work"?';

/** The pinentry's reply, or a failure showing the pane when the keys did not answer it. */
async function replyWithin(reply, terminal, ms = 5000) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(async () => {
      reject(new Error(`no answer in ${ms} ms; the pane shows:\n${await terminal.screen()}`));
    }, ms);
  });
  try {
    return await Promise.race([reply, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks CONFIRM with our labels; waits for the prompt on the pane; presses `answer`'s keys. */
async function confirmOnPane(t, program, terminal, answer) {
  await terminal.clear();
  const pinentry = await startRealPinentry(program, terminal);
  try {
    const setUp = [
      `SETDESC ${assuanEscape(DESCRIPTION)}`,
      `SETOK ${LABELS.ok}`,
      `SETCANCEL ${LABELS.cancel}`,
    ];
    for (const line of setUp) assert.equal((await pinentry.request(line)).ok, true, line);
    const asked = Date.now();
    const reply = pinentry.request('CONFIRM');
    const screen = await terminal.waitFor(LABELS.cancel);
    t.diagnostic(`${program}: the prompt was on the pane ${Date.now() - asked} ms after CONFIRM`);
    for (const line of DESCRIPTION.split('\n')) {
      assert.ok(screen.includes(line), `the pane shows "${line}":\n${screen}`);
    }
    assert.ok(screen.includes(LABELS.ok), screen);
    await terminal.press(...confirmKeys(program, answer, LABELS));
    return { reply: await replyWithin(reply, terminal), screen };
  } finally {
    await pinentry.close();
  }
}

async function getPinOnPane(program, terminal, passphrase) {
  await terminal.clear();
  const pinentry = await startRealPinentry(program, terminal);
  try {
    await pinentry.request(`SETDESC ${assuanEscape('Unlock kms-agent')}`);
    await pinentry.request('SETPROMPT Passphrase:');
    const reply = pinentry.request('GETPIN');
    await terminal.waitFor('Passphrase:');
    await terminal.type(passphrase.slice(0, 3));
    // pinentry-curses shows a star per letter; pinentry-tty shows nothing at all.
    if (program === 'pinentry-curses') await terminal.waitFor('***');
    else await new Promise((r) => setTimeout(r, 200));
    const typing = await terminal.screen();
    await typePassphrase(terminal, passphrase.slice(3));
    return { reply: await replyWithin(reply, terminal), typing };
  } finally {
    await pinentry.close();
  }
}

const needs = (program) => ({
  skip: noTmux || (!hasCommand(program) && `needs ${program}`),
  timeout: 60_000,
});

for (const program of ['pinentry-tty', 'pinentry-curses']) {
  test(
    `real ${program} on a tmux pane: allow, deny and a passphrase, answered by keys`,
    needs(program),
    async (t) => {
      const terminal = await startTerminal();
      t.after(() => terminal.close());

      const allowed = await confirmOnPane(t, program, terminal, 'ok');
      assert.equal(allowed.reply.ok, true, allowed.reply.lines.join(' | '));

      const denied = await confirmOnPane(t, program, terminal, 'cancel');
      assert.equal(denied.reply.ok, false);
      assert.equal(denied.reply.code, ASSUAN_ERRORS.cancelled, denied.reply.lines.join(' | '));

      // A passphrase with a character Assuan escapes, a space and a non-ASCII letter; not echoed.
      const passphrase = 'pä%ss w0rd';
      const { reply, typing } = await getPinOnPane(program, terminal, passphrase);
      assert.equal(reply.ok, true, reply.lines.join(' | '));
      assert.equal(reply.data, passphrase);
      assert.ok(!typing.includes(passphrase.slice(0, 3)), `typing is not shown:\n${typing}`);
    },
  );
}

test(
  "real pinentry-tty: OPTION ttyname= works too; the client's tty is found from /proc",
  needs('pinentry-tty'),
  async () => {
    const terminal = await startTerminal();
    try {
      // The pane's program has the pane as its controlling tty: field 7 of /proc/PID/stat is its
      // device number (major 136-143 are /dev/pts/(major-136)*256+minor), which is how a daemon
      // finds the terminal of the process at the other end of its socket.
      // Right after tmux starts it, the pane's program may not have taken the pane as its tty yet.
      let ttyNr = 0;
      for (let tries = 0; ttyNr === 0 && tries < 100; tries++) {
        if (tries) await new Promise((r) => setTimeout(r, 20));
        const stat = readFileSync(`/proc/${terminal.panePid}/stat`, 'utf8');
        ttyNr = Number(stat.split(') ')[1].split(' ')[4]);
      }
      const major = (ttyNr >> 8) & 0xfff;
      const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
      assert.ok(major >= 136 && major <= 143, `a pseudo-terminal (major ${major})`);
      assert.equal(`/dev/pts/${(major - 136) * 256 + minor}`, terminal.tty);

      await terminal.clear();
      const pinentry = await startRealPinentry('pinentry-tty', terminal, { viaOption: true });
      await pinentry.request('SETDESC Through OPTION ttyname');
      const reply = pinentry.request('CONFIRM');
      await terminal.waitFor('Through OPTION ttyname');
      await terminal.press(...confirmKeys('pinentry-tty', 'ok'));
      assert.equal((await replyWithin(reply, terminal)).ok, true);
      await pinentry.close();

      // A prompt whose caller went away stays on the terminal, reading keys: the caller ends it.
      const orphan = await startRealPinentry('pinentry-tty', terminal);
      orphan.request('CONFIRM').catch(() => undefined);
      await terminal.waitFor('[o]?');
      orphan.child.stdin.end();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(orphan.child.exitCode, null, 'pinentry-tty still runs after its input closed');
      orphan.child.kill('SIGTERM');
      assert.equal((await orphan.exited).signal, 'SIGTERM');
    } finally {
      await terminal.close();
    }
  },
);

test('the scripted pinentry answers CONFIRM and GETPIN from its behaviour file, logging each request', async (t) => {
  const dir = privateTempDir('pinentry');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const behaviour = { confirm: ['deny', 'allow'], getpin: 'passphrase s3cr%t\nx' };
  const pinentry = scriptedPinentry(dir, behaviour);
  const ask = async (ttyname, lines) => {
    const session = await startAssuan(pinentry.program, ['--ttyname', ttyname]);
    assert.equal(session.greeting.ok, true);
    const replies = [];
    for (const line of lines) replies.push(await session.request(line));
    const { code } = await session.close();
    assert.equal(code, 0);
    return replies;
  };
  const desc = `SETDESC ${assuanEscape('first 100% line\nsecond line')}`;
  const firstRun = ['OPTION ttytype=screen', desc, 'CONFIRM', 'GETPIN'];
  const [, , first, pin] = await ask('/dev/pts/7', firstRun);
  assert.equal(first.code, ASSUAN_ERRORS.cancelled, 'the first CONFIRM gets the first answer');
  assert.equal(pin.data, 's3cr%t\nx', 'the passphrase comes back escaped and is read back whole');
  const secondRun = ['CONFIRM', 'NO-SUCH-COMMAND', 'GETINFO pid'];
  const [second, unknown, info] = await ask('/dev/pts/8', secondRun);
  assert.equal(second.ok, true, 'the second CONFIRM gets the second answer');
  assert.equal(unknown.code, 536871187, "an unknown command gets the real pinentry's error");
  assert.match(info.data, /^\d+$/);

  assert.equal(pinentry.prompts(), 3);
  assert.equal(pinentry.requests('CONFIRM').length, 2);
  assert.deepEqual(pinentry.descriptions(), ['first 100% line\nsecond line']);
  const argvs = pinentry.runs().map((r) => r.argv);
  assert.deepEqual(argvs, [
    ['--ttyname', '/dev/pts/7'],
    ['--ttyname', '/dev/pts/8'],
  ]);
  assert.equal(pinentry.runs()[1].pid, Number(info.data));

  // Without an answer in the behaviour, the request fails visibly instead of guessing.
  pinentry.setBehaviour({ confirm: 'allow' });
  const [missing] = await ask('/dev/pts/9', ['GETPIN']);
  assert.equal(missing.ok, false);
  assert.match(missing.message, /no answer for GETPIN/);
  assert.doesNotMatch(readFileSync(pinentry.log, 'utf8'), /s3cr/, 'the passphrase is not logged');
});

test(
  'scripted pinentry: delays, hangs until SETTIMEOUT and outlives its caller as pinentry-tty does',
  { timeout: 20_000 },
  async (t) => {
    const dir = privateTempDir('pinentry');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pinentry = scriptedPinentry(dir, { confirm: 'allow', delayMs: 300 });
    const delayed = await startAssuan(pinentry.program);
    const asked = Date.now();
    assert.equal((await delayed.request('CONFIRM')).ok, true);
    assert.ok(Date.now() - asked >= 295, 'answered after the delay');
    await delayed.close();

    pinentry.setBehaviour({ confirm: 'hang' });
    const timed = await startAssuan(pinentry.program);
    await timed.request('SETTIMEOUT 1');
    const timeout = await timed.request('CONFIRM');
    assert.equal(timeout.code, ASSUAN_ERRORS.timeout);
    await timed.close();

    const hung = await startAssuan(pinentry.program);
    const never = hung.request('CONFIRM');
    never.catch(() => undefined);
    hung.child.stdin.end();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hung.child.exitCode, null, 'a hung one outlives its input: its caller ends it');
    hung.child.kill('SIGTERM');
    const { code } = await hung.exited;
    assert.equal(code, 143);
    const ends = pinentry
      .entries()
      .filter((e) => e.end)
      .map((e) => e.end);
    assert.deepEqual(ends, ['bye', 'bye', 'SIGTERM']);
    assert.equal(pinentry.prompts(), 3);
  },
);
