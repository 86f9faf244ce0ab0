// Other users (issue 4): a second uid (nobody, via setpriv) can neither connect to the agent nor read
// its store, log or process environment; each file-system layer (socket 0600, directory 0700) is
// enough on its own. A config holding a client_secret that others can read is warned about at start.
// Refusals of unsafe socket directories: test/daemonSafety.test.mjs. The login listener (loopback
// only, its path and state only, one use): test/loginListener.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
} from '../../dist/demo/localProvider.js';
import { startForeground } from '../support/harness.mjs';
import { asNobody, NOBODY, otherUserSkip } from '../support/otherUser.mjs';
import {
  loginViaRpc,
  makeIsolatedSandbox,
  sleep,
  stopChild,
  withSandbox,
} from '../support/reliability.mjs';

/** What nobody gets when connecting to a Unix socket: 'connected' or the error code. */
const CONNECT = `
  import { connect } from 'node:net';
  const s = connect(process.env.SOCK);
  s.on('connect', () => { s.destroy(); console.log(JSON.stringify({ result: 'connected', uid: process.getuid() })); });
  s.on('error', (e) => console.log(JSON.stringify({ result: e.code, uid: process.getuid() })));`;

/** What nobody gets when reading each path: 'read' or the error code. */
const READ = `
  import { readFileSync, readdirSync, statSync } from 'node:fs';
  const out = {};
  for (const p of JSON.parse(process.env.PATHS)) {
    try { statSync(p).isDirectory() ? readdirSync(p) : readFileSync(p); out[p] = 'read'; } catch (e) { out[p] = e.code; }
  }
  console.log(JSON.stringify(out));`;

test(
  'another uid cannot connect to the agent, nor read its store, log or environment',
  { skip: otherUserSkip },
  async (t) => {
    const sb = await makeIsolatedSandbox({
      profile: { store: 'file' },
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    let control;
    await withSandbox(
      sb,
      t,
      async () => {
        // Detached, as a user starts it: its log goes to agent.log.
        let r = await sb.cli(['start']);
        assert.equal(r.code, 0, r.stderr);
        await loginViaRpc(sb);
        const status = await sb.rpc('agent.status', {});
        const socketDir = dirname(sb.socketPath);
        const stateDir = join(sb.dir, 'state', 'kms-agent');

        // Let nobody walk down to the agent's own directories (but not list the sandbox), so that what
        // stops it below is the agent's modes, not the test's temp directories.
        for (const dir of [sb.dir, join(sb.dir, 'run'), join(sb.dir, 'state')])
          chmodSync(dir, 0o711);
        assert.equal(statSync(socketDir).mode & 0o777, 0o700, 'socket directory 0700');
        assert.equal(statSync(sb.socketPath).mode & 0o777, 0o600, 'socket 0600');

        // The control: nobody can connect to a socket that allows it, at the same depth. The EACCES
        // below is therefore the agent's doing.
        const openDir = join(sb.dir, 'run', 'open');
        mkdirSync(openDir, { mode: 0o755 });
        chmodSync(openDir, 0o755);
        control = createServer((s) => s.destroy());
        await new Promise((resolve) => control.listen(join(openDir, 'control.sock'), resolve));
        chmodSync(join(openDir, 'control.sock'), 0o666);
        assert.deepEqual(
          asNobody(CONNECT, { SOCK: join(openDir, 'control.sock') }),
          { result: 'connected', uid: NOBODY },
          'control: nobody connects to an open socket',
        );

        // The agent as it is: refused.
        assert.deepEqual(
          asNobody(CONNECT, { SOCK: sb.socketPath }),
          { result: 'EACCES', uid: NOBODY },
          'nobody cannot connect to the agent',
        );
        // Each layer holds alone: the socket's 0600 with an open directory...
        chmodSync(socketDir, 0o755);
        assert.deepEqual(
          asNobody(CONNECT, { SOCK: sb.socketPath }),
          { result: 'EACCES', uid: NOBODY },
          'socket 0600 alone keeps nobody out',
        );
        chmodSync(socketDir, 0o700);
        // ...and the directory's 0700 with an open socket.
        chmodSync(sb.socketPath, 0o666);
        assert.deepEqual(
          asNobody(CONNECT, { SOCK: sb.socketPath }),
          { result: 'EACCES', uid: NOBODY },
          'directory 0700 alone keeps nobody out',
        );
        chmodSync(sb.socketPath, 0o600);

        // The store, the log, and the agent's process: nothing for nobody to read.
        const grantFiles = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
        assert.equal(grantFiles.length, 1, 'a login in the file store');
        assert.equal(statSync(stateDir).mode & 0o777, 0o700, 'state directory 0700');
        assert.equal(
          statSync(join(stateDir, grantFiles[0])).mode & 0o777,
          0o600,
          'grant file 0600',
        );
        assert.equal(statSync(sb.logPath).mode & 0o777, 0o600, 'agent.log 0600');
        const targets = [
          stateDir,
          join(stateDir, grantFiles[0]),
          sb.logPath,
          `/proc/${status.pid}/environ`,
          `/proc/${status.pid}/mem`,
        ];
        const seen = asNobody(READ, { PATHS: JSON.stringify(targets) });
        for (const path of targets)
          assert.equal(seen[path], 'EACCES', `nobody cannot read ${path}`);
        // Even with the state directory opened up, the files themselves are 0600.
        chmodSync(stateDir, 0o711);
        const files = asNobody(READ, {
          PATHS: JSON.stringify([join(stateDir, grantFiles[0]), sb.logPath]),
        });
        chmodSync(stateDir, 0o700);
        assert.deepEqual(
          Object.values(files),
          ['EACCES', 'EACCES'],
          'grant file and log are 0600 on their own',
        );
        t.diagnostic(
          `nobody: connect EACCES (each layer alone too), store/log/environ/mem EACCES: ${JSON.stringify(seen)}`,
        );

        r = await sb.cli(['stop']);
        assert.equal(r.code, 0, r.stderr);
      },
      () => control?.close(),
    );
  },
);

test('a config holding a client_secret that others can read is warned about at start (stderr and agent.log)', async (t) => {
  const withSecret = (issuer, redirectUrl) =>
    `[profiles.conf]\nclient_id = "${LOCAL_CONFIDENTIAL_CLIENT_ID}"\nclient_secret = "${LOCAL_CONFIDENTIAL_CLIENT_SECRET}"\nissuer = "${issuer}"\nredirect_url = "${redirectUrl}"\nstore = "memory"\n`;
  const sb = await makeIsolatedSandbox({
    profiles: withSecret,
    env: { DBUS_SESSION_BUS_ADDRESS: undefined },
  });
  sb.rememberSecret(LOCAL_CONFIDENTIAL_CLIENT_SECRET);
  const warning = new RegExp(
    `${sb.configPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} holds a client_secret and is readable by group or others: run chmod 600`,
  );
  let agent;
  await withSandbox(
    sb,
    t,
    async () => {
      // 0600 (as written by the sandbox): no warning.
      agent = await startForeground(sb);
      await stopChild(agent.child);
      assert.doesNotMatch(agent.stderr(), /holds a client_secret/, 'no warning for a 0600 config');

      for (const mode of [0o644, 0o640, 0o604]) {
        chmodSync(sb.configPath, mode);
        // Foreground: the warning is in the log on stderr.
        agent = await startForeground(sb);
        await stopChild(agent.child);
        assert.match(agent.stderr(), warning, `mode ${mode.toString(8)}: warned on stderr`);
        assert.match(agent.stderr(), /"level":40/, 'as a warning');
      }
      // Detached: in agent.log.
      const r = await sb.cli(['start']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(sb.logPath));
      // The agent answers before its asynchronous logger has necessarily written the line out.
      for (let i = 0; i < 100 && !warning.test(readFileSync(sb.logPath, 'utf8')); i++)
        await sleep(20);
      assert.match(readFileSync(sb.logPath, 'utf8'), warning, 'warned in agent.log');
      t.diagnostic(
        `detached start printed: ${JSON.stringify(r.stderr)} (the warning is in agent.log)`,
      );
      // The secret itself appears nowhere (the harness checks every log and stderr on close).
      assert.ok(!readFileSync(sb.logPath, 'utf8').includes(LOCAL_CONFIDENTIAL_CLIENT_SECRET));
    },
    () => stopChild(agent?.child),
  );
});
