// Delegated sockets (issue 22, docs/SECURITY.md): `kms-agent delegate` makes a socket that serves
// only token.get within its restrictions (profile, audience, scope or less, kind, uses, TTL), an
// agent.status showing only the delegation, and FORBIDDEN (exit 7) for everything else; with
// `-- CMD` it ends with CMD, however CMD ends; with --socket at its TTL; --revoke ends it now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { METHOD_NAMES } from '../dist/rpc/methods.js';
import { CLI, jwtPayload, profileToml } from './support/harness.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const API = 'https://api.example';
const OTHER = 'https://other.example';

/** Two profiles; `main` asks for the API as its resource, so a delegation can narrow to it. */
const profiles = (issuer, redirectUrl) =>
  profileToml('main', issuer, { redirect_url: redirectUrl, store: 'memory', resource: API }) +
  profileToml('other', issuer, { redirect_url: redirectUrl, store: 'memory' });

async function delegationSandbox() {
  const sb = await makeIsolatedSandbox({ provider: { resources: [API, OTHER] }, profiles });
  sb.delegates = privateTempDir('delegates');
  return sb;
}

/** One call through a socket: its result, or the error's reason. */
async function through(socket, method, params = {}) {
  const client = await AgentClient.connect(socket);
  try {
    return await client.call(method, params);
  } catch (err) {
    return { reason: err.reason, message: err.message };
  } finally {
    client.close();
  }
}

test('a delegated socket: tokens within it; FORBIDDEN for every other method and anything wider; uses run out; the TTL ends it; --list and --revoke', async (t) => {
  const sb = await delegationSandbox();
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      await loginViaRpc(sb, 'main');
      const socket = join(sb.delegates, 'api.sock');
      const made = await sb.cli([
        'delegate',
        '--profile',
        'main',
        '--audience',
        API,
        '--scope',
        'openid offline_access',
        '--uses',
        '3',
        '--ttl',
        '4s',
        '--socket',
        socket,
      ]);
      assert.equal(made.code, 0, made.stderr);
      assert.equal(made.stdout, `KMS_AGENT_SOCK=${socket}; export KMS_AGENT_SOCK;\n`);
      assert.match(made.stderr, /delegation [0-9a-f]{12}: profile main, access token, audience/);

      const env = { KMS_AGENT_SOCK: socket, KMS_AGENT_NO_AUTOSTART: '1' };
      const delegated = await sb.token([], { env });
      assert.equal(delegated.code, 0, delegated.stderr);
      const claims = jwtPayload(delegated.stdout.trim());
      assert.equal(claims.aud, API);
      assert.deepEqual(claims.scope.split(' ').sort(), ['offline_access', 'openid']);
      const narrower = await through(socket, 'token.get', { scope: 'openid', audience: API });
      assert.equal(jwtPayload(narrower.token).scope, 'openid', 'a narrower scope is within it');

      for (const method of METHOD_NAMES.filter((m) => m !== 'token.get' && m !== 'agent.status'))
        assert.equal((await through(socket, method)).reason, 'FORBIDDEN', method);
      const wider = {
        'another profile': { profile: 'other' },
        'a wider audience': { audience: OTHER },
        'a wider scope': { scope: 'openid email' },
        'another kind': { kind: 'id' },
      };
      for (const [what, params] of Object.entries(wider))
        assert.equal((await through(socket, 'token.get', params)).reason, 'FORBIDDEN', what);
      const asked = await sb.token(['--audience', OTHER], { env });
      assert.equal(asked.code, 7);
      assert.match(
        asked.stderr,
        /audience https:\/\/other\.example is not allowed through this delegated socket; it gives audience https:\/\/api\.example only/,
      );
      const status = await sb.cli(['status'], { env });
      assert.equal(status.code, 0, status.stderr);
      assert.match(
        status.stdout,
        /this socket is a delegation; it serves only this:\ndelegation [0-9a-f]+: profile main/,
      );
      assert.doesNotMatch(status.stdout, /profile other|config /);

      // Three uses: two taken above (the refused requests took none), one left, then none.
      assert.ok((await through(socket, 'token.get')).token);
      const spent = await through(socket, 'token.get');
      assert.equal(spent.reason, 'FORBIDDEN');
      assert.match(spent.message, /its uses are used up/);

      const [listed] = JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout);
      assert.equal(listed.uses_left, 0);
      assert.equal(listed.socket, socket);
      assert.equal(listed.bound, false);

      // A second one, revoked: its socket goes at once.
      const second = join(sb.delegates, 'second.sock');
      await sb.cli(['delegate', '--profile', 'other', '--ttl', '1h', '--socket', second]);
      const id = JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout)[1].id;
      assert.equal((await sb.cli(['delegate', '--revoke', id])).code, 0);
      assert.equal(existsSync(second), false, 'revoked: socket removed');
      assert.equal((await sb.cli(['delegate', '--revoke', id])).code, 1);

      // At its TTL the first one ends too.
      await sleep(Math.max(0, listed.expires_at * 1000 - Date.now()) + 300);
      assert.equal(existsSync(socket), false, 'at its TTL: socket removed');
      assert.equal((await sb.token([], { env })).code, 2, 'nothing answers there');
      assert.deepEqual(JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout), []);
      const audit = JSON.parse((await sb.cli(['audit', '--json'])).stdout);
      assert.ok(audit.every((e) => e.via.startsWith('delegation ')));
      assert.ok(audit.some((e) => e.outcome === 'refused' && e.reason === 'FORBIDDEN'));
    },
    () => rmSync(sb.delegates, { recursive: true, force: true }),
  );
});

test('delegate -- CMD: CMD gets only the delegation, autostart off; it ends when CMD exits, is killed with -9, or delegate itself is', async (t) => {
  const sb = await delegationSandbox();
  const running = [];
  await withSandbox(
    sb,
    t,
    async () => {
      assert.equal((await sb.cli(['start'])).code, 0);
      await loginViaRpc(sb, 'main');
      const inside = [
        `${process.execPath} ${CLI} token >/dev/null && echo token=ok`,
        `${process.execPath} ${CLI} exec -- sh -c 'test -n "$KMS_ACCESS_TOKEN" && echo exec=ok'`,
        `${process.execPath} ${CLI} delegate --list; echo list=$?`,
        'echo "sock=$KMS_AGENT_SOCK autostart=$KMS_AGENT_NO_AUTOSTART"',
        'exit 3',
      ].join('; ');
      const r = await sb.cli(['delegate', '--profile', 'main', '--', 'sh', '-c', inside]);
      assert.equal(r.code, 3, `CMD's exit code: ${r.stderr}`);
      assert.match(r.stdout, /^token=ok$/m);
      assert.match(r.stdout, /^exec=ok$/m);
      assert.match(r.stdout, /^list=7$/m);
      const sock = /^sock=(\S+) autostart=1$/m.exec(r.stdout)?.[1];
      assert.ok(sock, r.stdout);
      assert.equal(existsSync(sock), false, 'CMD exited: socket removed');

      // kill -9 of CMD, then of delegate itself.
      for (const victim of ['cmd', 'delegate']) {
        const pidFile = join(sb.dir, `${victim}.pid`);
        const child = spawn(
          process.execPath,
          [
            CLI,
            'delegate',
            '--profile',
            'main',
            '--',
            'sh',
            '-c',
            `echo $$ > ${pidFile}; exec sleep 60`,
          ],
          { env: sb.env, stdio: 'ignore' },
        );
        running.push(child);
        for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(25);
        const cmdPid = Number(readFileSync(pidFile, 'utf8'));
        running.push({ kill: () => process.kill(cmdPid, 'SIGKILL') });
        const [made] = JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout);
        assert.equal(made.bound, true);
        assert.ok(existsSync(made.socket));
        process.kill(victim === 'cmd' ? cmdPid : child.pid, 'SIGKILL');
        for (let i = 0; i < 200 && existsSync(made.socket); i++) await sleep(25);
        assert.equal(existsSync(made.socket), false, `kill -9 of ${victim}: socket removed`);
        assert.deepEqual(JSON.parse((await sb.cli(['delegate', '--list', '--json'])).stdout), []);
      }
    },
    () => {
      for (const child of running) {
        try {
          child.kill('SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  );
});
