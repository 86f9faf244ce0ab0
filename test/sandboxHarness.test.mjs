// The sandbox test support works here: inside bubblewrap, the one bound socket answers, and the
// host's other sockets are out of reach, whether they sit in a directory the sandbox never sees,
// in one it hides, or behind /proc/PID/root; as the test's own uid and as nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { privateTempDir } from './support/tools/processRun.mjs';
import {
  SANDBOX_SOCKET,
  canSandboxAsNobody,
  runInSandbox,
  sandboxSkip,
} from './support/sandbox.mjs';

const skip = sandboxSkip();

/** A Unix socket server answering `name: what it got`, open to every uid (0666, in a 0755 dir). */
async function echoServer(t, dir, name) {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const path = join(dir, `${name}.sock`);
  const server = createServer((socket) => socket.on('data', (d) => socket.end(`${name}: ${d}`)));
  await new Promise((resolve) => server.listen(path, resolve));
  chmodSync(path, 0o666);
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return path;
}

// Connects to each path in turn and prints one JSON line per path: {path, reply} or {path, error}.
const CLIENT = `
const net = require('node:net');
(async () => {
  for (const path of process.argv.slice(1)) {
    const result = await new Promise((resolve) => {
      const socket = net.connect(path, () => socket.write('ping'));
      let reply = '';
      socket.on('data', (d) => (reply += d));
      socket.on('end', () => resolve({ path, reply }));
      socket.on('error', (e) => resolve({ path, error: e.code }));
      socket.setTimeout(5000, () => { socket.destroy(); resolve({ path, error: 'TIMEOUT' }); });
    });
    console.log(JSON.stringify(result));
  }
})();
`;

async function connectInside(t, paths, options) {
  const r = await runInSandbox([process.execPath, '-e', CLIENT, ...paths], options);
  assert.equal(r.code, 0, `the sandboxed client ran: ${r.stderr}`);
  const results = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.diagnostic(JSON.stringify(results));
  return Object.fromEntries(results.map(({ path, ...outcome }) => [path, outcome]));
}

async function threeServers(t) {
  const top = privateTempDir('sandbox');
  chmodSync(top, 0o755);
  // One outside /tmp and /run: the read-only root shows it unless it is hidden.
  const outside = privateTempDir('sandbox', '/var/tmp');
  chmodSync(outside, 0o755);
  t.after(() => rmSync(top, { recursive: true, force: true }));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  return {
    bound: await echoServer(t, join(top, 'delegate'), 'delegate'),
    inTmp: await echoServer(t, join(top, 'main'), 'main'),
    outside: await echoServer(t, join(outside, 'state'), 'state'),
    outsideDir: join(outside, 'state'),
  };
}

for (const asNobody of [false, true]) {
  const who = asNobody ? 'as nobody (setpriv)' : "as the test's uid";
  const userSkip = skip || (asNobody && !canSandboxAsNobody() && 'needs root and setpriv');
  const title = `inside bwrap ${who}: the bound socket answers; the host's other sockets do not`;
  test(title, { skip: userSkip, timeout: 60_000 }, async (t) => {
    const s = await threeServers(t);
    const viaProc = `/proc/${process.pid}/root${s.inTmp}`;
    const inside = await connectInside(t, [SANDBOX_SOCKET, s.inTmp, s.outside, viaProc], {
      socket: s.bound,
      hide: [s.outsideDir],
      asNobody,
    });
    assert.deepEqual(inside[SANDBOX_SOCKET], { reply: 'delegate: ping' });
    assert.deepEqual(inside[s.inTmp], { error: 'ENOENT' }, "the host /tmp is not the sandbox's");
    assert.deepEqual(inside[s.outside], { error: 'ENOENT' }, 'a hidden directory is empty inside');
    assert.deepEqual(inside[viaProc], { error: 'ENOENT' }, 'no host process is visible in /proc');
  });
}

test(
  'inside bwrap, a socket under the read-only root is still reachable: hide it',
  { skip, timeout: 60_000 },
  async (t) => {
    const s = await threeServers(t);
    const inside = await connectInside(t, [s.outside], { socket: s.bound });
    assert.deepEqual(inside[s.outside], { reply: 'state: ping' });
  },
);
