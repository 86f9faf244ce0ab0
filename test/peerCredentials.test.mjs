// Peer credentials and non-dumpable (issue 22, docs/SECURITY.md): the agent reads each
// connection's uid and pid from the kernel and closes, unanswered, one of another user that got
// past the socket's modes (opened here on purpose); and it makes itself non-dumpable, so that a
// process of its own user that is not root can read neither its /proc/PID/environ nor its memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './support/harness.mjs';
import { makeIsolatedSandbox, sleep, stopChild, withSandbox } from './support/reliability.mjs';
import {
  asNobody,
  cliForNobody,
  giveToNobody,
  NOBODY,
  otherUserSkip,
  spawnAsNobody,
} from './support/otherUser.mjs';

/** What nobody gets asking agent.status on a socket: the reply, or how the connection ended. */
const ASK_STATUS = `
  import { connect } from 'node:net';
  const s = connect(process.env.SOCK);
  let connected = false;
  let answer = '';
  const say = (how) => { console.log(JSON.stringify({ connected, answer, how })); process.exit(0); };
  s.on('connect', () => { connected = true; s.write('{"jsonrpc":"2.0","id":1,"method":"agent.status"}\\n'); });
  s.on('data', (d) => (answer += d));
  s.on('close', () => say('closed'));
  s.on('error', (e) => say(e.code));
  setTimeout(() => say('still open'), 3000);`;

test(
  'a peer of another uid is closed unanswered even where the socket lets it in; the agent’s own uid is served',
  { skip: otherUserSkip, timeout: 60_000 },
  async (t) => {
    const sb = await makeIsolatedSandbox({ profile: { store: 'memory' } });
    await withSandbox(sb, t, async () => {
      const started = await sb.cli(['start']);
      assert.equal(started.code, 0, started.stderr);
      // The modes opened on purpose: nobody can reach the socket and connect.
      for (const dir of [sb.dir, join(sb.dir, 'run'), dirname(sb.socketPath)])
        chmodSync(dir, 0o755);
      chmodSync(sb.socketPath, 0o666);

      const seen = asNobody(ASK_STATUS, { SOCK: sb.socketPath });
      assert.equal(seen.connected, true, `nobody connected: ${JSON.stringify(seen)}`);
      assert.equal(seen.answer, '', 'and got not one byte back');
      assert.notEqual(seen.how, 'still open', 'the agent closed the connection');

      // The agent's own user (root here) is served on the same socket.
      const status = await sb.rpc('agent.status', {});
      assert.equal(typeof status.pid, 'number');
      let log = '';
      for (let i = 0; i < 100 && !log.includes('refused a connection'); i++) {
        await sleep(20);
        log = readFileSync(sb.logPath, 'utf8');
      }
      const refusal = log
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .find((r) => r.msg === 'refused a connection from another user');
      assert.ok(refusal, 'the refusal is logged');
      assert.equal(refusal.level, 40, 'at warn');
      assert.equal(refusal.uid, NOBODY);
      assert.ok(refusal.pid > 0, 'with the peer’s pid');
      t.diagnostic(`logged: ${JSON.stringify(refusal)}`);
    });
  },
);

/** nobody's view of another process of nobody: can it read the environment and the memory? */
const READ_PROCESS = `
  import { openSync, readSync, readFileSync, closeSync } from 'node:fs';
  const pid = process.env.TARGET;
  const out = {};
  try { out.environ = readFileSync('/proc/' + pid + '/environ', 'utf8').includes(process.env.MARK) ? 'secret seen' : 'read'; }
  catch (e) { out.environ = e.code; }
  try {
    const maps = readFileSync('/proc/' + pid + '/maps', 'utf8');
    const start = BigInt('0x' + maps.split('-')[0]);
    const fd = openSync('/proc/' + pid + '/mem', 'r');
    out.mem = readSync(fd, Buffer.alloc(64), 0, 64, start) === 64 ? 'read' : 'short';
    closeSync(fd);
  } catch (e) { out.mem = e.code; }
  console.log(JSON.stringify(out));`;

/** Waits until `child` prints a line matching `pattern` on stderr or stdout; returns that line. */
async function waitForOutput(child, pattern, ms = 15_000) {
  let text = '';
  const read = (d) => (text += d);
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  for (let waited = 0; !pattern.test(text); waited += 50) {
    if (waited > ms || child.exitCode !== null) throw new Error(`no ${pattern}: ${text}`);
    await sleep(50);
  }
  return text.split('\n').find((line) => pattern.test(line));
}

test(
  'the daemon is non-dumpable: a same-uid process that is not root reads neither its environ nor its memory, as it can a plain node process',
  { skip: otherUserSkip, timeout: 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kms-agent-dumpable-'));
    const mark = `kms-agent-secret-${process.pid}-${Date.now()}`;
    const config = join(dir, 'config.toml');
    writeFileSync(config, '[profiles.local]\nclient_id = "c"\nissuer = "http://127.0.0.1:9/"\n', {
      mode: 0o600,
    });
    giveToNobody(dir);
    chmodSync(dir, 0o755);
    const env = {
      HOME: dir,
      XDG_RUNTIME_DIR: join(dir, 'run'),
      XDG_STATE_HOME: join(dir, 'state'),
      KMS_AGENT_CONFIG: config,
      KMS_TEST_MARK: mark,
    };
    // Not under `dir`, which goes to nobody: hard links there would give the clone's files away.
    const code = mkdtempSync(join(tmpdir(), 'kms-agent-dumpable-code-'));
    t.after(() => rmSync(code, { recursive: true, force: true }));
    const cli = cliForNobody(ROOT, code);
    // Both run as nobody, with the secret in their environment: the agent, and a control.
    const daemon = spawnAsNobody([process.execPath, cli, 'start', '--foreground'], { env });
    const control = spawnAsNobody(
      [process.execPath, '-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
      { env },
    );
    t.after(async () => {
      await stopChild(daemon);
      await stopChild(control);
      rmSync(dir, { recursive: true, force: true });
    });
    // The agent's own socket check would refuse nobody's directory: its pid comes from its log.
    const { pid } = JSON.parse(await waitForOutput(daemon, /agent started/));
    await waitForOutput(control, /ready/);

    const controlView = asNobody(READ_PROCESS, { TARGET: String(control.pid), MARK: mark });
    assert.deepEqual(
      controlView,
      { environ: 'secret seen', mem: 'read' },
      'control: nobody reads a plain node process of nobody',
    );
    assert.equal(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1], '65534');
    const agentView = asNobody(READ_PROCESS, { TARGET: String(pid), MARK: mark });
    assert.deepEqual(
      agentView,
      { environ: 'EACCES', mem: 'EACCES' },
      'the agent: nothing for a process of its own user',
    );
    t.diagnostic(`control ${JSON.stringify(controlView)}, agent ${JSON.stringify(agentView)}`);
  },
);
