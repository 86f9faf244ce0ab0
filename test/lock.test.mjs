// The lock (issue 22, docs/SECURITY.md): `kms-agent lock` until `unlock` with the same passphrase;
// meanwhile every method but agent.status, agent.config, agent.unlock and agent.shutdown is
// LOCKED (exit 7), cached tokens and token files are gone, nothing is refreshed, and a refresh
// token held only in memory is sealed (scrypt, AES-256-GCM). Wrong passphrases wait longer each
// time. The passphrase comes from pinentry, the terminal, or --passphrase-stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { METHOD_NAMES } from '../dist/rpc/methods.js';
import { MemoryStore } from '../dist/daemon/stores/memoryStore.js';
import { Sealer } from '../dist/daemon/control/sealing.js';
import { CLI, profileToml } from './support/harness.mjs';
import { scriptedPinentry, startTerminal } from './support/pinentry.mjs';
import { hasCommand } from './support/processes.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const PASSPHRASE = 'correct horse battery';
const UNLOCKED_WHILE_LOCKED = ['agent.status', 'agent.config', 'agent.unlock', 'agent.shutdown'];

/** Two profiles: one whose refresh token only memory holds, one with token files. */
const twoProfiles = (issuer, redirectUrl) =>
  profileToml('mem', issuer, { redirect_url: redirectUrl, store: 'memory' }) +
  profileToml('files', issuer, { redirect_url: redirectUrl, store: 'file', token_file: true });

const timed = async (promise) => {
  const start = Date.now();
  const result = await promise;
  return { ...result, ms: Date.now() - start };
};

test('locked: every method but status, config, unlock and shutdown is LOCKED (exit 7), tokens and token files gone, nothing refreshed; wrong passphrases wait longer; unlock brings it all back', async (t) => {
  const sb = await makeIsolatedSandbox({ provider: { accessTokenTtl: 4 }, profiles: twoProfiles });
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb, 'mem');
    await loginViaRpc(sb, 'files');
    assert.equal((await sb.token(['--profile', 'mem'])).code, 0);
    const tokenFile = join(sb.dir, 'run', 'kms-agent', 'tokens', 'files');
    assert.ok(existsSync(tokenFile), 'a token file before');

    const locked = await sb.cli(['lock', '--passphrase-stdin'], { input: `${PASSPHRASE}\n` });
    assert.equal(locked.code, 0, locked.stderr);
    assert.equal(existsSync(tokenFile), false, 'token files removed');
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.equal(status.locked, true);
    assert.match((await sb.cli(['status'])).stdout, /^locked: run `kms-agent unlock`/m);

    for (const method of METHOD_NAMES.filter((m) => !UNLOCKED_WHILE_LOCKED.includes(m))) {
      const err = await sb.rpc(method, {}).then(
        () => undefined,
        (e) => e,
      );
      assert.equal(err?.reason, 'LOCKED', `${method} while locked`);
    }
    const token = await sb.token(['--profile', 'files']);
    assert.equal(token.code, 7, token.stderr);
    assert.match(token.stderr, /the agent is locked: run `kms-agent unlock`/);
    assert.equal((await sb.cli(['profiles'])).code, 7);
    assert.equal((await sb.cli(['lock', '--passphrase-stdin'], { input: 'x\n' })).code, 7);

    // Tokens of 4 s would have been refreshed twice by now; locked, none is.
    const refreshes = sb.provider.stats.grants.refresh_token ?? 0;
    await sleep(4500);
    assert.equal(sb.provider.stats.grants.refresh_token ?? 0, refreshes, 'nothing refreshed');

    const wrong1 = await timed(sb.cli(['unlock', '--passphrase-stdin'], { input: 'wrong\n' }));
    const wrong2 = await timed(sb.cli(['unlock', '--passphrase-stdin'], { input: 'wrong\n' }));
    assert.deepEqual([wrong1.code, wrong2.code], [1, 1]);
    assert.match(wrong1.stderr, /wrong passphrase: the agent stays locked .*1 s/);
    assert.ok(
      wrong1.ms >= 1000 && wrong2.ms >= 2000,
      `waited ${wrong1.ms} ms, then ${wrong2.ms} ms`,
    );
    t.diagnostic(`wrong passphrases answered after ${wrong1.ms} ms and ${wrong2.ms} ms`);

    const unlocked = await sb.cli(['unlock', '--passphrase-stdin'], { input: `${PASSPHRASE}\n` });
    assert.equal(unlocked.code, 0, unlocked.stderr);
    assert.match(unlocked.stderr, /the agent is unlocked/);
    // The memory store's refresh token, sealed while locked, works again: a refresh gets a token.
    const again = await sb.token(['--profile', 'mem']);
    assert.equal(again.code, 0, again.stderr);
    for (let i = 0; i < 100 && !existsSync(tokenFile); i++) await sleep(50);
    assert.ok(existsSync(tokenFile), 'the token file is written again');

    const audit = JSON.parse((await sb.cli(['audit', '--json'])).stdout);
    assert.ok(audit.some((e) => e.outcome === 'refused' && e.reason === 'LOCKED'));
    assert.equal(
      (await sb.cli(['unlock', '--passphrase-stdin'], { input: 'x\n' })).stderr.trim(),
      'the agent was not locked',
    );
  });
});

test('sealed, the memory store holds no refresh token; another passphrase cannot open it', async () => {
  const store = new MemoryStore();
  const refreshToken = 'refresh-token-that-must-not-stay-in-memory';
  await store.save('k', { refresh_token: refreshToken, saved_at: 1, subject: 'alice' });
  const salt = Buffer.alloc(16, 7);
  store.seal(await Sealer.derive(PASSPHRASE, salt));
  assert.equal(await store.load('k'), null, 'nothing to load while sealed');
  assert.ok(!JSON.stringify([...store.grants]).includes(refreshToken));
  const sealed = [...store.sealed.values()][0];
  assert.ok(!sealed.data.toString('latin1').includes(refreshToken), 'encrypted');
  assert.equal(
    (await Sealer.derive('another', salt)).open(sealed),
    undefined,
    'wrong key: no text',
  );
  store.unseal(await Sealer.derive(PASSPHRASE, salt));
  assert.equal((await store.load('k')).refresh_token, refreshToken);
});

test('lock and unlock ask pinentry when there is a display or a terminal, twice for lock; without either, --passphrase-stdin is needed', async (t) => {
  const sb = await makeIsolatedSandbox({ profile: { store: 'memory' } });
  const dir = privateTempDir('pinentry');
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      const pinentry = scriptedPinentry(dir, { getpin: 'passphrase not typed twice' });
      const env = { KMS_AGENT_PINENTRY: pinentry.program, DISPLAY: ':99' };
      pinentry.setBehaviour({ getpin: ['passphrase one', 'passphrase two'] });
      const differ = await sb.cli(['lock'], { env });
      assert.equal(differ.code, 1);
      assert.match(differ.stderr, /the two passphrases differ: the agent is not locked/);
      pinentry.setBehaviour({ getpin: `passphrase ${PASSPHRASE}` });
      assert.equal((await sb.cli(['lock'], { env })).code, 0);
      assert.equal((await sb.cli(['unlock'], { env })).code, 0);
      assert.equal(pinentry.requests('GETPIN').length, 5);
      assert.match(pinentry.descriptions().join('\n'), /Lock kms-agent: choose a passphrase/);
      assert.ok(pinentry.runs().every((r) => r.argv.join(' ') === '--display :99'));

      const none = await sb.cli(['lock'], { env: { KMS_AGENT_PINENTRY: pinentry.program } });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /pipe it in with --passphrase-stdin/);
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
});

test(
  'a real pinentry-tty on the terminal of `kms-agent unlock` takes the passphrase, and without a pinentry the terminal does; neither echoes it',
  { skip: (!hasCommand('tmux') || !hasCommand('pinentry-tty')) && 'needs tmux and pinentry-tty' },
  async (t) => {
    const sb = await makeIsolatedSandbox({ profile: { store: 'memory' } });
    let terminal;
    await withSandbox(
      sb,
      t,
      async () => {
        assert.equal((await sb.cli(['start'])).code, 0);
        assert.equal(
          (await sb.cli(['lock', '--passphrase-stdin'], { input: `${PASSPHRASE}\n` })).code,
          0,
        );
        terminal = await startTerminal({
          command: [process.execPath, CLI, 'unlock'],
          env: { ...sb.env, KMS_AGENT_PINENTRY: 'pinentry-tty' },
        });
        await terminal.waitFor('Passphrase:');
        await terminal.type(PASSPHRASE);
        await terminal.press('Enter');
        const screen = await terminal.waitFor('the agent is unlocked');
        assert.ok(!screen.includes(PASSPHRASE), `not echoed:\n${screen}`);
        assert.equal(JSON.parse((await sb.cli(['status', '--json'])).stdout).locked, undefined);
        await terminal.close();

        // No pinentry at all: the terminal itself, without echo, twice for lock.
        terminal = await startTerminal({
          command: [process.execPath, CLI, 'lock'],
          env: { ...sb.env, KMS_AGENT_PINENTRY: '/nonexistent/pinentry' },
        });
        for (const prompt of ['Passphrase:', 'Repeat:']) {
          await terminal.waitFor(prompt);
          await terminal.type(PASSPHRASE);
          await terminal.press('Enter');
        }
        const locked = await terminal.waitFor('the agent is locked');
        assert.ok(!locked.includes(PASSPHRASE), `not echoed:\n${locked}`);
        assert.equal(JSON.parse((await sb.cli(['status', '--json'])).stdout).locked, true);
      },
      () => terminal?.close(),
    );
  },
);
