// Remote hosts over SSH (README "Remote hosts over SSH"): the agent's socket forwarded with a real
// OpenSSH `ssh -R REMOTE:LOCAL` to a real sshd on loopback, and the built `kms-agent token` on the
// "remote" side using the client's default socket path ($XDG_RUNTIME_DIR/kms-agent/agent.sock) with
// no agent of its own. Local and remote are the same machine and user here; the remote side gets its
// own HOME and XDG_RUNTIME_DIR, as a remote login would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { CLI } from './support/harness.mjs';
import { allCommandLines } from './support/processes.mjs';
import { exited, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';
import { assertNoLeak, watchForToken } from './support/tokenWatch.mjs';
import { remoteCommand, sshdAvailable, startSshd } from './support/tools.mjs';

const NOBODY = 65534;
const canSwitchUser =
  process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;

/** The remote user's side: its own HOME and a 0700 runtime dir holding a 0700 kms-agent/, like /run/user/UID. */
function remoteSide(base) {
  const home = join(base, 'remote-home');
  const runtime = join(base, 'remote-run');
  const socketDir = join(runtime, 'kms-agent');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(runtime, 0o700);
  return {
    home,
    runtime,
    socketDir,
    socketPath: join(socketDir, 'agent.sock'),
    /** `kms-agent ARGS…` as the remote command, with the remote env and the default socket path. */
    cli: (args, env = {}) =>
      remoteCommand({ HOME: home, XDG_RUNTIME_DIR: runtime, ...env }, [
        process.execPath,
        CLI,
        ...args,
      ]),
  };
}

/** 'connected' or the error code of one connection attempt to a Unix socket. */
function tryConnect(path) {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err) => resolve(err.code));
  });
}

/** Polls until a connection attempt gives `wanted` (bounded): returns the last result. */
async function until(path, wanted, ms = 15_000) {
  let result;
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
    result = await tryConnect(path);
    if (result === wanted) break;
  }
  return result;
}

/** What uid `nobody` gets when it connects to a Unix socket: 'connected' or the error code. */
function connectAsNobody(path) {
  const script = `require('net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => console.log(e.code));`;
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      process.execPath,
      '-e',
      script,
      path,
    ],
    {
      env: { PATH: process.env.PATH },
      cwd: '/',
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  assert.equal(r.status, 0, `setpriv as nobody: ${r.stderr}`);
  return r.stdout.trim();
}

test(
  'ssh -R forwards the agent to a remote host: same token there, no agent of its own, safe and stale-proof',
  { skip: !sshdAvailable && 'needs Debian openssh-server and openssh-client' },
  async (t) => {
    const sb = await makeIsolatedSandbox({ profile: { store: 'memory' } });
    let sshd;
    let forward;
    await withSandbox(
      sb,
      t,
      async () => {
        await sb.login();
        const local = await sb.token();
        assert.equal(local.code, 0, local.stderr);
        const localToken = local.stdout.trim();
        const localAgent = await sb.rpc('agent.status', {});
        sshd = await startSshd({ dir: sb.dir });
        const remote = remoteSide(sb.dir);
        const forwardSpec = `${remote.socketPath}:${sb.socketPath}`;
        const ssh = async (args) => {
          const r = await sshd.ssh(args);
          sb.logs.push(r.stderr);
          return r;
        };
        const viaForward = (remoteArgs) =>
          ssh(['-o', 'ExitOnForwardFailure=yes', '-R', forwardSpec, sshd.destination, remoteArgs]);
        /** A forward that stays up (`ssh -N -R`), resolved once the remote socket answers. */
        const openForward = async () => {
          forward = sshd.spawnSsh([
            '-N',
            '-o',
            'ExitOnForwardFailure=yes',
            '-R',
            forwardSpec,
            sshd.destination,
          ]);
          let stderr = '';
          forward.stderr.on('data', (d) => (stderr += d));
          forward.on('close', () => sb.logs.push(stderr));
          assert.equal(
            await until(remote.socketPath, 'connected'),
            'connected',
            `the forward came up: ${stderr}`,
          );
        };

        await t.test(
          'the remote `kms-agent token` prints the local token through the forwarded default socket',
          async () => {
            const r = await viaForward(remote.cli(['token'], { KMS_AGENT_NO_AUTOSTART: '1' }));
            assert.equal(r.code, 0, r.stderr);
            sb.rememberSecret(r.stdout);
            assert.equal(r.stdout.trim(), localToken);
            assert.equal(r.stdout, `${localToken}\n`, 'one token and a newline, nothing else');

            // Even with autostart allowed, the remote side talks to the local agent and starts none.
            const status = await viaForward(remote.cli(['status', '--json']));
            assert.equal(status.code, 0, status.stderr);
            assert.equal(
              JSON.parse(status.stdout).pid,
              localAgent.pid,
              'the remote status is the local agent',
            );
            assert.ok(
              !existsSync(join(remote.home, '.local', 'state', 'kms-agent')),
              'no remote agent state or log',
            );
            assert.deepEqual(
              readdirSync(remote.socketDir),
              ['agent.sock'],
              'only the forwarded socket in the remote socket dir',
            );
            const remoteAgents = allCommandLines().filter(
              (p) =>
                p.args.some((a) => a.endsWith('daemon/daemon.cjs')) &&
                p.args.includes(remote.socketPath),
            );
            assert.deepEqual(remoteAgents, [], 'no daemon listens on the remote path');
          },
        );

        await t.test('the forwarded socket is 0600 and owned by the ssh user', async (t) => {
          await openForward();
          const st = lstatSync(remote.socketPath);
          assert.ok(st.isSocket());
          assert.equal(st.mode & 0o777, 0o600, 'sshd binds it 0600 (StreamLocalBindMask 0177)');
          assert.equal(st.uid, process.getuid(), 'owned by the ssh user');

          await t.test(
            'another user on the remote host gets EACCES',
            { skip: !canSwitchUser && 'needs root and setpriv to act as nobody' },
            async () => {
              // As laid out (runtime dir and kms-agent/ 0700, the sandbox passable): refused.
              chmodSync(sb.dir, 0o711);
              assert.equal(connectAsNobody(remote.socketPath), 'EACCES');
              // With both directories opened for traversal, the socket's own 0600 still refuses; a 0666
              // socket beside it lets nobody in (the control: the EACCES is the forwarded socket's doing).
              const control = createServer((s) => s.destroy());
              const controlPath = join(remote.socketDir, 'control.sock');
              await new Promise((resolve) => control.listen(controlPath, resolve));
              try {
                chmodSync(controlPath, 0o666);
                chmodSync(remote.runtime, 0o711);
                chmodSync(remote.socketDir, 0o711);
                assert.equal(
                  connectAsNobody(controlPath),
                  'connected',
                  'control: nobody reaches a 0666 socket there',
                );
                assert.equal(
                  connectAsNobody(remote.socketPath),
                  'EACCES',
                  'the 0600 forwarded socket alone keeps nobody out',
                );
              } finally {
                chmodSync(remote.runtime, 0o700);
                chmodSync(remote.socketDir, 0o700);
                chmodSync(sb.dir, 0o700);
                await new Promise((resolve) => control.close(resolve));
              }
            },
          );
        });

        await t.test(
          'no token on any command line while the forward is up, nor in any environment or file',
          async () => {
            if (!forward || forward.exitCode !== null) await openForward();
            const watch = watchForToken(localToken);
            const seen = new Map();
            let sampling = true;
            const sampler = (async () => {
              while (sampling) {
                for (const p of allCommandLines()) seen.set(p.pid, p.args);
                await sleep(10);
              }
            })();
            // A second session, no -R of its own: it uses the socket the first one forwards.
            const r = await ssh([
              sshd.destination,
              remote.cli(['token'], { KMS_AGENT_NO_AUTOSTART: '1' }),
            ]);
            for (const p of allCommandLines()) seen.set(p.pid, p.args);
            sampling = false;
            await sampler;
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout.trim(), localToken);
            const lines = [...seen.values()];
            assert.ok(
              lines.some((args) => args[0] === 'ssh' && args.includes('-R')),
              'the forwarding ssh was sampled',
            );
            assert.ok(
              lines.some((args) => /(^|\/)sshd\b/.test(args[0] ?? '')),
              'sshd processes were sampled',
            );
            assert.deepEqual(
              lines.filter((args) => args.join(' ').includes(localToken)),
              [],
              'no command line holds the token',
            );
            assert.ok(!sshd.log().includes(localToken), 'sshd logged no token');
            assertNoLeak(assert, await watch.stop(), 'ssh -R');
          },
        );

        await t.test(
          'a stale forwarded socket (ssh gone, file left): exit 2 naming the socket',
          async () => {
            if (!forward || forward.exitCode !== null) await openForward();
            forward.kill('SIGTERM');
            await exited(forward);
            assert.equal(
              await until(remote.socketPath, 'ECONNREFUSED'),
              'ECONNREFUSED',
              'nobody listens any more',
            );
            assert.ok(lstatSync(remote.socketPath).isSocket(), 'sshd left the socket file behind');
            const r = await ssh([sshd.destination, remote.cli(['token', '--no-autostart'])]);
            assert.equal(r.code, 2, r.stderr);
            assert.equal(r.stdout, '');
            assert.equal(
              r.stderr,
              `kms-agent: nothing answers on ${remote.socketPath}: a stale socket (an agent that died, or an ssh -R session that ended): start an agent with \`eval "$(kms-agent start)"\`, or reconnect the ssh session that forwards it\n`,
            );
          },
        );

        await t.test(
          'the next ssh -R replaces the stale socket (StreamLocalBindUnlink yes)',
          async () => {
            assert.equal(
              await tryConnect(remote.socketPath),
              'ECONNREFUSED',
              'a stale socket is in the way',
            );
            const r = await viaForward(remote.cli(['token'], { KMS_AGENT_NO_AUTOSTART: '1' }));
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout.trim(), localToken);
          },
        );

        await t.test(
          'preconditions the README names: the remote directory must exist, the server must unlink stale sockets',
          async () => {
            const missing = join(remote.runtime, 'no-such-dir', 'agent.sock');
            let r = await ssh([
              '-o',
              'ExitOnForwardFailure=yes',
              '-R',
              `${missing}:${sb.socketPath}`,
              sshd.destination,
              'true',
            ]);
            assert.equal(r.code, 255);
            assert.ok(
              r.stderr.includes(`remote port forwarding failed for listen path ${missing}`),
              r.stderr,
            );

            const strict = await startSshd({
              dir: sb.dir,
              extraConfig: { StreamLocalBindUnlink: 'no' },
            });
            try {
              assert.equal(
                await tryConnect(remote.socketPath),
                'ECONNREFUSED',
                'the stale socket from the last session is there',
              );
              r = await strict.ssh([
                '-o',
                'ExitOnForwardFailure=yes',
                '-R',
                forwardSpec,
                strict.destination,
                'true',
              ]);
              assert.equal(
                r.code,
                255,
                'without StreamLocalBindUnlink the stale socket blocks the forward',
              );
              assert.match(strict.log(), /Address already in use/);
            } finally {
              await strict.close();
            }
          },
        );

        await t.test(
          'the forward is up but the local agent is gone: exit 1, saying that no agent runs behind the forward',
          async () => {
            await openForward();
            assert.equal((await sb.cli(['stop'])).code, 0);
            const r = await ssh([
              sshd.destination,
              remote.cli(['token'], { KMS_AGENT_NO_AUTOSTART: '1' }),
            ]);
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout, '');
            assert.equal(
              r.stderr,
              `kms-agent: the agent closed the connection without answering: if ${remote.socketPath} is forwarded from another machine (ssh -R), no agent is running there; otherwise the agent stopped\n`,
            );
          },
        );
      },
      async () => {
        if (forward && forward.exitCode === null && forward.signalCode === null) {
          forward.kill('SIGTERM');
          await exited(forward).catch(() => undefined);
        }
        if (sshd) sb.logs.push(sshd.log());
        await sshd?.close();
      },
    );
  },
);
