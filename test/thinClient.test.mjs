// `kms-agent token`, the command scripts run over and over, starts as little as it can: CommonJS,
// node:net and five small files of ours — no ES module loader, no commander, pino, openid-client
// or json-rpc-2.0 — and still behaves exactly like the full client for every answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CLI, ROOT, makeSandbox } from './support/harness.mjs';

/** Runs the built CLI with a preload that reports, at exit, every module the process loaded. */
function runTraced(args, env) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-trace-'));
  const hook = join(dir, 'hook.cjs');
  writeFileSync(
    hook,
    `process.on('exit', () => require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify({
      files: Object.keys(require.cache).filter((f) => f !== __filename),
      esmLoader: process.moduleLoadList.includes('NativeModule internal/modules/esm/loader'),
    }) + '\\n'));\n`,
  );
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', hook, CLI, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      const [text, loaded] = stderr.split('\nLOADED ');
      resolve({ code: error ? error.code : 0, stdout, stderr: text, loaded: JSON.parse(loaded) });
    });
  });
}

test('kms-agent token loads only node:net and the fast path; other commands load the full CLI', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    await sb.login();
    const r = await runTraced(['token'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    sb.rememberSecret(r.stdout);
    assert.deepEqual(
      r.loaded.files.map((f) => relative(ROOT, f)).sort(),
      ['dist/client/bin.cjs', 'dist/client/exitCodes.cjs', 'dist/client/tokenArgs.cjs', 'dist/client/tokenFastPath.cjs', 'dist/rpc/framing.cjs', 'dist/rpc/socketPath.cjs'],
    );
    assert.equal(r.loaded.esmLoader, false, 'no ES module loader on the token path');

    // The contrast, so the check above can fail: `status` goes through commander and ES modules.
    const status = await runTraced(['status'], sb.env);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.loaded.files.some((f) => f.includes('node_modules/commander/')));
    assert.equal(status.loaded.esmLoader, true);
  } finally {
    await sb.close();
  }
});

test('kms-agent token: errors from the agent keep their message and exit code on the fast path', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    assert.equal((await sb.cli(['start'])).code, 0);
    // LOGIN_REQUIRED → 5, UNKNOWN_PROFILE → 1, each one line on stderr and nothing on stdout.
    let r = await runTraced(['token'], sb.env);
    assert.equal(r.code, 5);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'kms-agent: not logged in to profile local: run `kms-agent login --profile local`\n');
    assert.equal(r.loaded.esmLoader, false, 'an agent that answers is answered on the fast path');
    r = await runTraced(['token', '--profile', 'nope'], sb.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kms-agent: .*nope.*\n$/);
    // Usage errors: exit 1 before any connection.
    r = await runTraced(['token', '--min-valid', 'soon'], sb.env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kms-agent: --min-valid takes a number of seconds, got "soon"\n');
  } finally {
    await sb.close();
  }
});

test('kms-agent token with no agent hands over to the full client: autostart, or exit 2 and what to run', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    let r = await runTraced(['token', '--no-autostart'], sb.env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kms-agent: no agent is running on .*agent\.sock \(no socket there\): start one with `eval "\$\(kms-agent start\)"`\n$/);
    // Autostart: the agent comes up, and the answer is the one it gives (not logged in yet).
    r = await runTraced(['token'], sb.env);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.loaded.esmLoader, true, 'the full client started the agent');
    assert.equal((await sb.rpc('agent.status')).socket, sb.socketPath);
  } finally {
    await sb.close();
  }
});

test('kms-agent token: an agent that hangs up, or talks garbage first, gets a clear error, never a hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-fake-'));
  const socketPath = join(dir, 'agent.sock');
  let behaviour;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => behaviour(socket));
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  const env = { PATH: process.env.PATH, KMS_AGENT_SOCK: socketPath, KMS_AGENT_NO_AUTOSTART: '1' };
  try {
    behaviour = (socket) => socket.destroy();
    let r = await runTraced(['token'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kms-agent: the agent closed the connection\n');

    // Lines that are not our answer are skipped; the answer after them is used.
    behaviour = (socket) =>
      socket.end('not json\n{"jsonrpc":"2.0","id":7,"result":{"token":"wrong"}}\n{"jsonrpc":"2.0","id":1,"result":{"token":"t0k3n","token_type":"DPoP","expires_at":1,"profile":"p"}}\n');
    r = await runTraced(['token', '--header'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Authorization: DPoP t0k3n\n');

    // An answer split across writes, then the error reason's exit code.
    behaviour = (socket) => {
      socket.write('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"provider down",');
      setTimeout(() => socket.end('"data":{"reason":"PROVIDER_UNREACHABLE"}}}\n'), 50);
    };
    r = await runTraced(['token'], env);
    assert.equal(r.code, 6);
    assert.equal(r.stderr, 'kms-agent: provider down\n');

    // A reader that is gone (`kms-agent token | head -c0`) is not an error: exit 0, no stack trace.
    behaviour = (socket) => setTimeout(() => socket.end('{"jsonrpc":"2.0","id":1,"result":{"token":"t0k3n","token_type":"Bearer","expires_at":1,"profile":"p"}}\n'), 300);
    const child = spawn(process.execPath, [CLI, 'token'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code, signal] = await new Promise((resolve) => child.on('exit', (...a) => resolve(a)));
    assert.deepEqual([code, signal, stderr], [0, null, '']);

    // A line past the 64 KiB cap is not buffered forever.
    behaviour = (socket) => socket.write('x'.repeat(70 * 1024));
    r = await runTraced(['token'], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'kms-agent: the agent closed the connection\n');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
