// Socket hijack (issue 10, finding 1): another user puts a fake agent where the victim's client will
// look (a directory of their own at the default path, or one the victim's KMS_AGENT_SOCK / --socket
// names) and waits for `kms-agent login` or `token` to talk to it: a login through a fake agent hands
// the attacker the victim's refresh token. Every client checks the socket's directory and the socket
// before it sends a byte: the attacker's agent must receive nothing, not even a connection, and the
// victim must see the path named and exit 1 (not 2: "no agent" would autostart). The attacker is
// nobody (uid 65534) via setpriv, as in otherUsers.test.mjs; the victim is the test's own uid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSandbox } from '../support/harness.mjs';
import { sleep } from '../support/reliability.mjs';

const NOBODY = 65534;
const canSwitchUser =
  process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;
const skip = !canSwitchUser && 'needs root and setpriv to act as another user';

/**
 * The attacker's fake agent, run as nobody: creates its directory (0700, as a real one looks) and a
 * socket anyone may connect to, answers every request as an agent would, and reports on stdin's end
 * how many connections and bytes it got.
 */
const FAKE_AGENT = `
  const { createServer } = require('node:net');
  const { chmodSync, mkdirSync, symlinkSync } = require('node:fs');
  const { dirname } = require('node:path');
  const socketPath = process.env.FAKE_SOCKET;
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (process.env.LINK) symlinkSync(dirname(socketPath), process.env.LINK);
  let connections = 0, bytes = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      for (const line of chunk.toString().split('\\n').filter(Boolean)) {
        let id, method;
        try { ({ id, method } = JSON.parse(line)); } catch { continue; }
        const result = method === 'login.start'
          ? { login_id: 'x', profile: 'local', url: 'https://attacker.example/authorize', expires_at: 2e9 }
          : { token: 'forged', token_type: 'Bearer', expires_at: 2e9, profile: 'local' };
        socket.write(JSON.stringify(method === 'login.wait' ? { jsonrpc: '2.0', id, error: { code: -32000, message: 'denied', data: { reason: 'LOGIN_DENIED' } } } : { jsonrpc: '2.0', id, result }) + '\\n');
      }
    });
  });
  server.listen(socketPath, () => {
    chmodSync(socketPath, 0o777);
    process.stdout.write('listening\\n');
  });
  process.stdin.on('end', () => {
    process.stdout.write(JSON.stringify({ connections, bytes }) + '\\n');
    process.exit(0);
  }).resume();`;

/** Starts the fake agent as nobody; `stop()` resolves with what it received. */
async function attackerAgent(socketPath, env = {}) {
  const child = spawn(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      '-e',
      FAKE_AGENT,
    ],
    {
      env: { PATH: process.env.PATH, FAKE_SOCKET: socketPath, ...env },
      cwd: '/',
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  for (let waited = 0; !out.includes('listening'); waited += 20) {
    if (child.exitCode !== null || waited > 10_000)
      throw new Error(`the fake agent did not start: ${err}`);
    await sleep(20);
  }
  return {
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin.end();
        await exited;
      }
      const last = out.trim().split('\n').at(-1);
      assert.ok(last.startsWith('{'), `the fake agent reported what it got: ${out} ${err}`);
      return JSON.parse(last);
    },
  };
}

/** A world-writable directory (1777, like /tmp) where the attacker can be first, inside a private parent. */
function sharedDir() {
  const parent = mkdtempSync(join(tmpdir(), 'kms-agent-hijack-'));
  chmodSync(parent, 0o755);
  const shared = join(parent, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  return { parent, shared };
}

/** `token` and `login` as the victim: both refuse, naming the path and the problem, and exit 1. */
async function assertRefused(sb, args, env, { path, says }) {
  for (const command of [['token'], ['login', '--no-browser', '--timeout', '5']]) {
    const r = await sb.cli([...args, ...command], { env });
    const label = `${[...args, ...command].join(' ')}`;
    assert.equal(r.code, 1, `${label}: exit 1, got ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, '', `${label}: nothing on stdout`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${label}: one line: ${r.stderr}`);
    assert.ok(r.stderr.includes(path), `${label}: names ${path}: ${r.stderr}`);
    assert.match(r.stderr, says, label);
  }
}

test(
  "another user's fake agent gets nothing: KMS_AGENT_SOCK, --socket, or the default path in a directory they own",
  { skip, timeout: 120_000 },
  async (t) => {
    const sb = await makeSandbox({
      provider: null,
      config:
        '[profiles.local]\nclient_id = "c"\nauthorize_url = "https://idp.example/a"\ntoken_url = "https://idp.example/t"\n',
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    const { parent, shared } = sharedDir();
    try {
      const ownedByNobody = new RegExp(
        `owned by uid ${NOBODY}, not you \\(uid ${process.getuid()}\\)`,
      );

      await t.test(
        "KMS_AGENT_SOCK and --socket naming a socket in the attacker's directory",
        async () => {
          const fakeSocket = join(shared, 'evil', 'agent.sock');
          const fake = await attackerAgent(fakeSocket);
          await assertRefused(
            sb,
            [],
            { KMS_AGENT_SOCK: fakeSocket },
            { path: join(shared, 'evil'), says: ownedByNobody },
          );
          await assertRefused(
            sb,
            ['--socket', fakeSocket],
            {},
            { path: join(shared, 'evil'), says: ownedByNobody },
          );
          assert.deepEqual(
            await fake.stop(),
            { connections: 0, bytes: 0 },
            'the fake agent received nothing',
          );
        },
      );

      await t.test(
        'the default path, $XDG_RUNTIME_DIR/kms-agent/agent.sock, when the attacker made that directory first',
        async () => {
          const runtime = join(shared, 'runtime-of-victim');
          mkdirSync(runtime, { mode: 0o1777 });
          chmodSync(runtime, 0o1777);
          const fake = await attackerAgent(join(runtime, 'kms-agent', 'agent.sock'));
          await assertRefused(
            sb,
            [],
            { XDG_RUNTIME_DIR: runtime },
            { path: join(runtime, 'kms-agent'), says: ownedByNobody },
          );
          assert.deepEqual(await fake.stop(), { connections: 0, bytes: 0 });
          assert.equal(existsSync(sb.logPath), false, 'and no agent was started there or anywhere');
        },
      );

      await t.test(
        "a symbolic link at the socket directory, to the attacker's directory",
        async () => {
          const runtime = join(shared, 'runtime-linked');
          mkdirSync(runtime, { mode: 0o1777 });
          chmodSync(runtime, 0o1777);
          const fake = await attackerAgent(join(shared, 'linked-target', 'agent.sock'), {
            LINK: join(runtime, 'kms-agent'),
          });
          await assertRefused(
            sb,
            [],
            { XDG_RUNTIME_DIR: runtime },
            { path: join(runtime, 'kms-agent'), says: /it is a symbolic link/ },
          );
          assert.deepEqual(await fake.stop(), { connections: 0, bytes: 0 });
        },
      );

      await t.test(
        'the old fallback ($TMPDIR/kms-agent-$UID) is not looked at any more: without XDG_RUNTIME_DIR the socket is in the home',
        async () => {
          const fake = await attackerAgent(
            join(shared, `kms-agent-${process.getuid()}`, 'agent.sock'),
          );
          const env = { XDG_RUNTIME_DIR: undefined, TMPDIR: shared, KMS_AGENT_NO_AUTOSTART: '1' };
          const r = await sb.cli(['token'], { env });
          assert.equal(r.code, 2, `no agent of the victim's own: ${r.stderr}`);
          assert.ok(
            r.stderr.includes(join(sb.dir, 'state', 'kms-agent', 'agent.sock')),
            `the default is in the victim's state directory: ${r.stderr}`,
          );
          assert.deepEqual(await fake.stop(), { connections: 0, bytes: 0 });
        },
      );
    } finally {
      rmSync(parent, { recursive: true, force: true });
      await sb.close();
    }
  },
);

test(
  "a socket directory others can write, and a socket another user owns in the user's own directory, are refused",
  { skip, timeout: 60_000 },
  async (t) => {
    const sb = await makeSandbox({
      provider: null,
      config:
        '[profiles.local]\nclient_id = "c"\nauthorize_url = "https://idp.example/a"\ntoken_url = "https://idp.example/t"\n',
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    const dir = mkdtempSync(join(tmpdir(), 'kms-agent-victim-'));
    // A listener of the victim's own at the path: only the directory's mode, or the socket's owner, is wrong.
    const socketPath = join(dir, 'sock', 'agent.sock');
    mkdirSync(join(dir, 'sock'), { mode: 0o700 });
    let received = { connections: 0, bytes: 0 };
    const server = createServer((socket) => {
      received.connections++;
      socket.on('data', (d) => {
        received.bytes += d.length;
        socket.destroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise((resolve) => server.listen(socketPath, resolve));
    try {
      for (const mode of [0o770, 0o777, 0o720]) {
        await t.test(`a directory with mode ${mode.toString(8)}`, async () => {
          received = { connections: 0, bytes: 0 };
          chmodSync(join(dir, 'sock'), mode);
          await assertRefused(
            sb,
            ['--socket', socketPath],
            {},
            { path: join(dir, 'sock'), says: /group or others can write to it/ },
          );
          assert.deepEqual(received, { connections: 0, bytes: 0 });
        });
      }
      await t.test("a socket owned by another uid in the user's own 0700 directory", async () => {
        received = { connections: 0, bytes: 0 };
        chmodSync(join(dir, 'sock'), 0o700);
        chownSync(socketPath, NOBODY, NOBODY);
        await assertRefused(
          sb,
          ['--socket', socketPath],
          {},
          { path: socketPath, says: new RegExp(`owned by uid ${NOBODY}`) },
        );
        assert.deepEqual(received, { connections: 0, bytes: 0 });
      });
      await t.test('the control: the same socket, owned by the user, is talked to', async () => {
        received = { connections: 0, bytes: 0 };
        chownSync(socketPath, process.getuid(), process.getgid());
        const r = await sb.cli(['--socket', socketPath, 'token', '--no-autostart'], { env: {} });
        assert.ok(
          received.connections > 0 && received.bytes > 0,
          'the client connected and sent its request',
        );
        assert.match(r.stderr, /^kms-agent: the agent closed the connection without answering/);
      });
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
      await sb.close();
    }
  },
);
