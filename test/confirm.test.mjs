// Confirmation (issue 22, docs/SECURITY.md): a `confirm = true` profile serves a client process
// only after the user allowed it through pinentry, on the process's own terminal when it has one
// (a real pinentry-tty on a tmux pane here), else on the agent's display; one prompt per process
// however many requests it sends, prompts one at a time, the answer remembered 10 minutes; no way
// to ask is NOT_CONFIRMED (exit 7), saying how to set one up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { confirmPrompt } from '../dist/os/pinentryPrompts.js';
import { CLI, profileToml } from './support/harness.mjs';
import { scriptedPinentry, startTerminal } from './support/pinentry.mjs';
import { hasCommand } from './support/processes.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';
import { privateTempDir, run, shellQuote } from './support/tools/processRun.mjs';

/** A confirm profile; `top` adds keys before it (pinentry_program). */
const confirmProfile =
  (top = '') =>
  (issuer, redirectUrl) =>
    top +
    profileToml('local', issuer, { redirect_url: redirectUrl, store: 'memory', confirm: true });

test(
  'a real pinentry-tty on the client’s own terminal: Allow serves the token, Deny is exit 7',
  { skip: (!hasCommand('tmux') || !hasCommand('pinentry-tty')) && 'needs tmux and pinentry-tty' },
  async (t) => {
    const sb = await makeIsolatedSandbox({
      profiles: confirmProfile('pinentry_program = "pinentry-tty"\n'),
    });
    const terminals = [];
    await withSandbox(
      sb,
      t,
      async () => {
        assert.equal((await sb.cli(['start'])).code, 0);
        await loginViaRpc(sb);
        const token = `${shellQuote(process.execPath)} ${shellQuote(CLI)} token`;
        for (const [key, exit] of [
          ['a', 'exit=0'],
          ['d', 'exit=7'],
        ]) {
          const terminal = await startTerminal({
            // Its error line on the pane, its token nowhere.
            command: ['sh', '-c', `${token} 2>&1 >/dev/null; echo exit=$?`],
            env: sb.env,
          });
          terminals.push(terminal);
          const prompt = await terminal.waitFor('[ad]?');
          assert.match(prompt, /allow this program a token of profile local\?/);
          assert.match(
            prompt,
            new RegExp(`${process.execPath.replaceAll('/', '\\/')} \\(pid \\d+\\)`),
          );
          assert.match(prompt, /token/, 'its command line');
          assert.match(prompt, /Allow/);
          await terminal.press(key);
          const after = await terminal.waitFor(exit);
          if (key === 'd')
            assert.match(after, /kms-agent: the user denied .* a token of profile local/);
          t.diagnostic(`pressed ${key}: ${exit}`);
        }
        const audit = JSON.parse((await sb.cli(['audit', '--json'])).stdout);
        assert.deepEqual(
          audit.map((e) => [e.outcome, e.reason]),
          [
            ['served', undefined],
            ['refused', 'NOT_CONFIRMED'],
          ],
        );
      },
      async () => {
        for (const terminal of terminals) await terminal.close();
      },
    );
  },
);

test('50 concurrent requests of one process show one prompt; the answer is remembered; prompts come one at a time; the requester hanging up ends its prompt', async (t) => {
  const dir = privateTempDir('confirm');
  const pinentry = scriptedPinentry(dir, { confirm: 'allow', delayMs: 300 });
  const sb = await makeIsolatedSandbox({
    profiles: confirmProfile(`pinentry_program = ${JSON.stringify(pinentry.program)}\n`),
    // A display, so that a process without a terminal (this one) can be asked.
    env: { DISPLAY: ':99' },
  });
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      await loginViaRpc(sb);
      const ask = async () => {
        const client = await AgentClient.connect(sb.socketPath);
        try {
          return await client.call('token.get', {});
        } finally {
          client.close();
        }
      };
      const first = await Promise.all(Array.from({ length: 50 }, ask));
      assert.equal(new Set(first.map((r) => r.token)).size, 1);
      assert.equal(pinentry.prompts(), 1, 'one prompt for 50 concurrent requests');
      await Promise.all(Array.from({ length: 50 }, ask));
      assert.equal(pinentry.prompts(), 1, 'remembered: no prompt for the next 50');
      const [description] = pinentry.descriptions();
      assert.match(description, /allow this program a token of profile local\?/);
      assert.match(description, new RegExp(`\\(pid ${process.pid}\\)`));
      assert.ok(pinentry.requests('SETTIMEOUT').every((e) => e.line === 'SETTIMEOUT 60'));
      // This process has no terminal (under CI): the prompt goes to the agent's display.
      if (!hasTerminal(process.pid))
        assert.deepEqual(pinentry.runs()[0].argv, ['--display', ':99'], 'graphically');

      // Two other processes at once: two prompts, one after the other.
      const [one, two] = await Promise.all([sb.token(), sb.token()]);
      assert.deepEqual([one.code, two.code], [0, 0]);
      const runs = pinentry.entries().filter((e) => e.start || e.end);
      assert.deepEqual(
        runs.slice(-4).map((e) => (e.start ? 'start' : 'end')),
        ['start', 'end', 'start', 'end'],
        'one prompt at a time',
      );

      // A denial holds for the process: a child asking twice is asked once.
      pinentry.setBehaviour({ confirm: 'deny' });
      const child = await run(process.execPath, [
        '--input-type=module',
        '-e',
        `import { AgentClient } from ${JSON.stringify(new URL('../dist/client/fast/agentClient.js', import.meta.url).href)};
         for (let i = 0; i < 2; i++) {
           const c = await AgentClient.connect(${JSON.stringify(sb.socketPath)});
           await c.call('token.get', {}).then(() => console.log('served'), (e) => console.log(e.reason, e.message));
           c.close();
         }`,
      ]);
      const lines = child.stdout.trim().split('\n');
      assert.equal(lines.length, 2, child.stderr);
      assert.match(
        lines[0],
        /^NOT_CONFIRMED the user denied .* \(pid \d+\) a token of profile local/,
      );
      assert.match(lines[1], /^NOT_CONFIRMED .* was denied a token of profile local at its prompt/);
      assert.equal(pinentry.prompts(), 4);

      // A requester that hangs up takes its prompt with it.
      pinentry.setBehaviour({ confirm: 'hang' });
      const hangingUp = spawnClientThatLeaves(sb.socketPath);
      for (let i = 0; i < 100 && pinentry.prompts() < 5; i++) await sleep(50);
      await hangingUp;
      let ended;
      for (let i = 0; i < 100 && !ended; i++) {
        await sleep(50);
        ended = pinentry
          .entries()
          .filter((e) => e.end)
          .at(-1);
      }
      assert.equal(pinentry.entries().filter((e) => e.end).length, pinentry.runs().length);
      assert.equal(ended.end, 'SIGTERM', 'the hung prompt was ended');
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
});

/** Whether a process has a controlling terminal (field 7 of /proc/PID/stat). */
function hasTerminal(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[4]) !== 0;
}

/** A child process that asks for a token and leaves after 500 ms, unanswered. */
function spawnClientThatLeaves(socketPath) {
  const client = new URL('../dist/client/fast/agentClient.js', import.meta.url).href;
  return run(process.execPath, [
    '--input-type=module',
    '-e',
    `import { AgentClient } from ${JSON.stringify(client)};
     const c = await AgentClient.connect(${JSON.stringify(socketPath)});
     c.call('token.get', {}).catch(() => undefined);
     setTimeout(() => process.exit(0), 500);`,
  ]);
}

test('no prompt possible: NOT_CONFIRMED (exit 7) saying how to set one up', async (t) => {
  const sb = await makeIsolatedSandbox({ profiles: confirmProfile() });
  await withSandbox(sb, t, async () => {
    // No pinentry at all.
    assert.equal(
      (await sb.cli(['start'], { env: { KMS_AGENT_PINENTRY: '/nonexistent/pinentry' } })).code,
      0,
    );
    await loginViaRpc(sb);
    const none = await run('setsid', [process.execPath, CLI, 'token'], { env: sb.env });
    assert.equal(none.code, 7, none.stderr);
    assert.match(
      none.stderr,
      /no pinentry program found .*apt install pinentry-tty.*pinentry_program/,
    );
    // A pinentry, but no terminal (setsid) and no display.
    assert.equal((await sb.cli(['stop'])).code, 0);
    assert.equal((await sb.cli(['start'], { env: { KMS_AGENT_PINENTRY: '/bin/true' } })).code, 0);
    await loginViaRpc(sb);
    const headless = await run('setsid', [process.execPath, CLI, 'token'], { env: sb.env });
    assert.equal(headless.code, 7, headless.stderr);
    assert.match(
      headless.stderr,
      /no prompt can be shown: the process has no terminal .* no display/,
    );
  });
});

test('pinentry’s own timeout (SETTIMEOUT) is a refusal', async (t) => {
  const dir = privateTempDir('confirm-timeout');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pinentry = scriptedPinentry(dir, { confirm: 'hang' });
  const answer = await confirmPrompt(pinentry.program, {
    display: ':99',
    description: 'allow?',
    timeoutSeconds: 1,
    env: process.env,
  });
  assert.equal(answer, 'timeout');
  assert.equal(pinentry.entries().filter((e) => e.end).length, 1, 'and the program is gone');
});
