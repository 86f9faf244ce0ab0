// A delegated socket where it is meant to go (issue 22, README "Delegating a token to one
// consumer"): bind-mounted alone into a real bubblewrap sandbox, and forwarded with a real
// `ssh -R`. On the other side a client gets tokens within the delegation, FORBIDDEN outside it,
// and no way to the agent's own socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, jwtPayload, profileToml } from './support/harness.mjs';
import { loginViaRpc, makeIsolatedSandbox, withSandbox } from './support/reliability.mjs';
import { runInSandbox, SANDBOX_SOCKET, sandboxSkip } from './support/sandbox.mjs';
import { remoteCommand, sshdAvailable, startSshd } from './support/tools.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const API = 'https://api.example';
const OTHER = 'https://other.example';

async function delegated(t, body) {
  const sb = await makeIsolatedSandbox({
    provider: { resources: [API, OTHER] },
    profiles: (issuer, redirectUrl) =>
      profileToml('main', issuer, { redirect_url: redirectUrl, store: 'memory', resource: API }),
  });
  const dir = privateTempDir('reach');
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      await loginViaRpc(sb, 'main');
      const socket = join(dir, 'delegate.sock');
      const made = await sb.cli(['delegate', '--audience', API, '--ttl', '5m', '--socket', socket]);
      assert.equal(made.code, 0, made.stderr);
      await body(sb, socket);
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** A shell script run on the other side: each client's exit code and output, one per line. */
const CLIENTS = (cli) =>
  [
    `${cli} token > /dev/null; echo "token=$?"`,
    `${cli} token --audience ${OTHER} 2>&1 >/dev/null; echo "other=$?"`,
    `${cli} login --profile main 2>&1; echo "login=$?"`,
    `${cli} --socket "$MAIN" token 2>&1 >/dev/null; echo "main=$?"`,
    `${cli} token`,
  ].join('\n');

function checkOtherSide(sb, output, { mainError }) {
  assert.match(output, /^token=0$/m, output);
  assert.match(output, /^other=7$/m);
  assert.match(
    output,
    /audience https:\/\/other\.example is not allowed through this delegated socket/,
  );
  assert.match(output, /^login=7$/m);
  assert.match(output, /is a delegated socket: it serves only tokens/);
  assert.match(output, new RegExp(`^main=${mainError}$`, 'm'), 'the main socket is out of reach');
  const token = output.trim().split('\n').at(-1);
  sb.rememberSecret(token);
  assert.equal(jwtPayload(token).aud, API);
}

test(
  'bind-mounted alone into bubblewrap: tokens within the delegation, FORBIDDEN outside it, no way to the main socket',
  { skip: sandboxSkip(), timeout: 60_000 },
  (t) =>
    delegated(t, async (sb, socket) => {
      const cli = `${process.execPath} ${CLI}`;
      const inside = await runInSandbox(['sh', '-c', CLIENTS(cli)], {
        socket,
        env: {
          PATH: process.env.PATH,
          HOME: '/tmp',
          KMS_AGENT_SOCK: SANDBOX_SOCKET,
          KMS_AGENT_NO_AUTOSTART: '1',
          MAIN: sb.socketPath,
        },
      });
      assert.equal(inside.code, 0, inside.stderr);
      // The agent's own socket is under the host's /tmp, which the sandbox does not see: no agent.
      checkOtherSide(sb, inside.stdout, { mainError: 2 });
      const audit = JSON.parse((await sb.cli(['audit', '--json'])).stdout);
      assert.ok(audit.length > 0 && audit.every((e) => e.via.startsWith('delegation ')));
      t.diagnostic(`inside: ${inside.stdout.split('\n').slice(0, 4).join(' ')}`);
    }),
);

test(
  'forwarded with ssh -R: the remote side gets only what was delegated',
  { skip: !sshdAvailable && 'needs Debian openssh-server and openssh-client', timeout: 60_000 },
  (t) =>
    delegated(t, async (sb, socket) => {
      const sshd = await startSshd({ dir: privateTempDir('reach-sshd') });
      t.after(() => sshd.close());
      const remote = join(privateTempDir('reach-remote'), 'agent.sock');
      const cli = `${process.execPath} ${CLI}`;
      // A remote host has no path to the agent's own socket, only the forward.
      const noMain = '/nonexistent/agent.sock';
      const script = remoteCommand(
        { HOME: '/tmp', KMS_AGENT_SOCK: remote, KMS_AGENT_NO_AUTOSTART: '1', MAIN: noMain },
        ['sh', '-c', CLIENTS(cli)],
      );
      const r = await sshd.ssh([
        '-o',
        'ExitOnForwardFailure=yes',
        '-R',
        `${remote}:${socket}`,
        sshd.destination,
        script,
      ]);
      sb.logs.push(r.stderr);
      assert.equal(r.code, 0, r.stderr);
      checkOtherSide(sb, r.stdout, { mainError: 2 });
    }),
);
