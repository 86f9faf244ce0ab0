// One agent per user store (issue 19): two shells of one user, one with XDG_RUNTIME_DIR and one
// without (an SSH login next to cron, say), look for the agent at two different default sockets.
// Each used to autostart an agent of its own on one shared store; with a provider that rotates
// refresh tokens, one agent's refresh killed the other's refresh token, and the loser then deleted
// the login from the store, the winner's valid refresh token with it. Now the second shell finds
// the first shell's agent through the lock in the state directory, and the login survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { KeychainStore } from '../dist/daemon/stores/keychainStore.js';
import { processAlive } from '../dist/os/processAlive.js';
import { noKeychain, storeFileOf, storeKeyOf } from './support/harness.mjs';
import { daemonsUnder } from './support/processes.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';

const SECONDS = 60;
/** Access and id tokens live 2 s: a token call refreshes at least once a second. */
const TOKEN_TTL = 2;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+\n$/;

/** The refresh token the store holds for the sandbox's profile, read as a second process would. */
async function storedRefreshToken(sb, store) {
  if (store === 'file') {
    const file = storeFileOf(sb);
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).refresh_token : undefined;
  }
  return (await new KeychainStore().load(storeKeyOf(sb)))?.refresh_token;
}

/**
 * Shell 1 (no XDG_RUNTIME_DIR) and shell 2 (with it) call `kms-agent token` in turn for SECONDS;
 * then: one agent, every call served, the login still in the store and good for a new agent.
 */
async function twoShells(t, store) {
  const sb = await makeIsolatedSandbox({
    provider: { accessTokenTtl: TOKEN_TTL, idTokenTtl: TOKEN_TTL, rotateRefreshToken: true },
    profile: { store },
  });
  const shells = [{ XDG_RUNTIME_DIR: undefined }, {}];
  const body = async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb);
    const failures = [];
    let calls = 0;
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) {
      const shell = calls % 2;
      const r = await sb.token([], { env: shells[shell] });
      if (r.code !== 0 || !JWT.test(r.stdout)) {
        failures.push(`call ${calls} (shell ${shell + 1}): exit ${r.code}: ${r.stderr.trim()}`);
      }
      calls++;
    }
    const refreshes = sb.provider.stats.grants.refresh_token ?? 0;
    const failed = failures.length;
    const figures = `${calls} calls in ${SECONDS} s, ${refreshes} refreshes, ${failed} failed`;
    t.diagnostic(`${store}: ${figures}`);
    assert.deepEqual(failures.slice(0, 3), [], 'every call from either shell got a token');
    assert.ok(refreshes >= SECONDS / 2, `the calls kept causing refreshes (${refreshes})`);
    const agents = daemonsUnder(sb.dir);
    assert.equal(agents.length, 1, `exactly one agent runs: ${JSON.stringify(agents)}`);
    assert.ok(await storedRefreshToken(sb, store), 'the login is still in the store');

    // And it is a good one: a new agent, with nothing cached, serves from it without a login.
    assert.equal((await sb.cli(['stop'])).code, 0);
    const logins = sb.provider.stats.grants.authorization_code;
    const again = await sb.token();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sb.provider.stats.grants.authorization_code, logins, 'no new login');
  };
  // Before the fix, shell 1 had an agent of its own, on the state directory's socket.
  const stopShell1 = () => sb.cli(['--no-autostart', 'stop'], { env: shells[0] });
  await withSandbox(sb, t, body, stopShell1);
}

test(
  `two shells, one with XDG_RUNTIME_DIR and one without, ${SECONDS} s of token calls ` +
    'under rotation: one agent, no lost login',
  { timeout: 240_000, concurrency: 2 },
  async (t) => {
    await Promise.all([
      t.test('file store', (st) => twoShells(st, 'file')),
      t.test('keychain store', { skip: noKeychain }, (st) => twoShells(st, 'keychain')),
    ]);
  },
);

/** The lock's file, a second agent, clients on other default sockets and on named ones. */
async function oneAgentPerStateDirectory(t) {
  const sb = await makeIsolatedSandbox({
    profile: { store: 'memory' },
    env: { DBUS_SESSION_BUS_ADDRESS: undefined },
  });
  const stateDir = join(sb.dir, 'state', 'kms-agent');
  const lockPath = join(stateDir, 'agent.lock');
  const noRuntime = { XDG_RUNTIME_DIR: undefined };
  const stateSocket = join(stateDir, 'agent.sock');
  const elsewhere = join(sb.dir, 'run', 'other', 'agent.sock');
  const lockOf = () => JSON.parse(readFileSync(lockPath, 'utf8'));
  await withSandbox(sb, t, async () => {
    const started = await sb.cli(['start'], { env: noRuntime });
    assert.equal(started.code, 0, started.stderr);
    const pid = Number(/KMS_AGENT_PID=(\d+)/.exec(started.stdout)[1]);
    const onlyThatAgent = () =>
      assert.deepEqual(
        daemonsUnder(sb.dir).map((d) => d.pid),
        [pid],
      );

    await t.test('the lock: 0600 in a 0700 directory, naming pid, socket and config', () => {
      assert.equal(statSync(lockPath).mode & 0o777, 0o600);
      assert.equal(statSync(stateDir).mode & 0o777, 0o700);
      assert.deepEqual(lockOf(), { pid, socket: stateSocket, config: sb.configPath });
    });

    await t.test('a second agent for this state directory refuses, naming the first', async () => {
      const running =
        `another agent (pid ${pid}) already runs for this user, on ${stateSocket}: ` +
        `set KMS_AGENT_SOCK=${stateSocket} or stop it`;
      for (const args of [
        ['--socket', elsewhere, 'start'],
        ['--socket', elsewhere, 'start', '--foreground'],
        ['start', '--foreground'],
      ]) {
        const r = await sb.cli(args);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.includes(running), r.stderr);
      }
      onlyThatAgent();
    });

    await t.test('a client on another default socket uses it; start prints it', async () => {
      const r = await sb.cli(['status', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).pid, pid);
      const again = await sb.cli(['start']);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(again.stdout.startsWith(`KMS_AGENT_SOCK=${stateSocket}; export KMS_AGENT_SOCK;\n`));
      assert.equal((await sb.token()).code, 5, 'token asks it too (not logged in)');
      assert.equal(existsSync(sb.socketPath), false, "nothing on this shell's default socket");
    });

    await t.test('a named socket is never swapped: no autostart there, naming it', async () => {
      const refused = `no agent answers on ${elsewhere}, and none may start there: another agent (pid ${pid})`;
      for (const [args, env] of [
        [['--socket', elsewhere, 'token'], {}],
        [['token'], { KMS_AGENT_SOCK: elsewhere }],
      ]) {
        const r = await sb.cli(args, { env });
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes(refused), r.stderr);
        assert.ok(r.stderr.includes(`set KMS_AGENT_SOCK=${stateSocket}`), r.stderr);
      }
      const r = await sb.cli(['--no-autostart', '--socket', elsewhere, 'token']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no agent is running on/);
      onlyThatAgent();
    });

    await t.test('a killed agent leaves no stale lock: the next client starts one', async () => {
      process.kill(pid, 'SIGKILL');
      for (let waited = 0; processAlive(pid) && waited < 5000; waited += 20) await sleep(20);
      const r = await sb.token();
      assert.equal(r.code, 5, r.stderr);
      const { pid: now } = await sb.rpc('agent.status');
      assert.notEqual(now, pid);
      const record = { pid: now, socket: sb.socketPath, config: sb.configPath };
      assert.deepEqual(lockOf(), record, "the lock names the new agent, on this shell's socket");
      assert.equal((await sb.cli(['stop'])).code, 0);
    });

    await t.test('the socket a lock names gets the same checks as any socket', async () => {
      const open = join(sb.dir, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      let received = 0;
      const fake = createServer((socket) => socket.on('data', (d) => (received += d.length)));
      await new Promise((resolve) => fake.listen(join(open, 'agent.sock'), resolve));
      try {
        const socket = join(open, 'agent.sock');
        const forged = { pid: process.pid, socket, config: sb.configPath };
        writeFileSync(lockPath, JSON.stringify(forged));
        const r = await sb.cli(['--no-autostart', 'token']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /refusing socket directory .*open: group or others can write to it/);
        assert.equal(received, 0, 'not a byte sent');
      } finally {
        fake.close();
        writeFileSync(lockPath, '');
      }
    });
  });
}

test(
  'the agent lock: one agent per state directory, found from any default socket, never from a ' +
    'named one',
  { timeout: 120_000 },
  oneAgentPerStateDirectory,
);
