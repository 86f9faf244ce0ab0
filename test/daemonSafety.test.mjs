// Starting, refusing to start, and stopping the daemon, via the built CLI as a user or a service
// manager drives it (docs/configuration.md, docs/cli.md): bad config, unsafe socket directories,
// stale sockets, an agent already running, no agent at all, signals, help and usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { CLI, makeSandbox, startForeground } from './support/harness.mjs';
import { exited } from './support/reliability.mjs';

// A profile that never needs its provider: nothing in these tests logs in.
const STATIC_PROFILE = `[profiles.local]
client_id = "kms-agent-test"
authorize_url = "https://idp.example.com/authorize"
token_url = "https://idp.example.com/token"
`;
const NO_DBUS = { DBUS_SESSION_BUS_ADDRESS: undefined };

/** A sandbox without a provider, with `config` (default: a valid static profile). */
const staticSandbox = (config = STATIC_PROFILE, env = {}) =>
  makeSandbox({ provider: null, config, env: { ...NO_DBUS, ...env } });

async function answers(socketPath) {
  try {
    (await AgentClient.connect(socketPath, 500)).close();
    return true;
  } catch {
    return false;
  }
}

/** An error line as docs/cli.md wants it: exactly one line on stderr, nothing on stdout. */
function assertOneLine(result, what) {
  assert.equal(result.stdout, '', `${what}: nothing on stdout`);
  assert.equal(
    result.stderr.trimEnd().split('\n').length,
    1,
    `${what}: one line on stderr: ${JSON.stringify(result.stderr)}`,
  );
}

/** The running agent's pid, asked over the socket. */
async function agentPid(sb) {
  return (await sb.rpc('agent.status', {})).pid;
}

test(
  'bad config: start and start --foreground exit 1 with one line naming file, profile and key, and leave no socket',
  { timeout: 60_000 },
  async () => {
    const cases = [
      {
        what: 'unknown key',
        config: `${STATIC_PROFILE}client_sercet = "typo"\n`,
        key: 'client_sercet',
        says: /unknown key/,
      },
      {
        what: 'non-URL token_url',
        config: STATIC_PROFILE.replace('https://idp.example.com/token', 'idp.example.com/token'),
        key: 'token_url',
        says: /expected an http\(s\) URL, got "idp\.example\.com\/token"/,
      },
      {
        what: 'missing client_id',
        config: STATIC_PROFILE.replace('client_id = "kms-agent-test"\n', ''),
        key: 'client_id',
        says: /missing/,
      },
      {
        what: 'plain http to another host',
        config: STATIC_PROFILE.replace(
          'https://idp.example.com/token',
          'http://idp.example.com/token',
        ),
        key: 'token_url',
        says: /https URL/,
      },
    ];
    for (const { what, config, key, says } of cases) {
      const sb = await staticSandbox(config);
      try {
        for (const args of [['start'], ['start', '--foreground']]) {
          const label = `${what}: ${args.join(' ')}`;
          const r = await sb.cli(args);
          assert.equal(r.code, 1, `${label}: exit 1 (${r.stderr})`);
          assertOneLine(r, label);
          assert.ok(r.stderr.includes(sb.configPath), `${label}: names the file: ${r.stderr}`);
          assert.match(r.stderr, /profile "local"/, `${label}: names the profile`);
          assert.ok(r.stderr.includes(`key "${key}"`), `${label}: names the key: ${r.stderr}`);
          assert.match(r.stderr, says, label);
          assert.equal(existsSync(sb.socketPath), false, `${label}: no socket left behind`);
          assert.equal(await answers(sb.socketPath), false, `${label}: no agent answers`);
        }
        // A command that would autostart reports the same reason, with "no agent" (exit 2).
        const r = await sb.cli(['token']);
        assert.equal(r.code, 2);
        assertOneLine(r, 'token with a bad config');
        assert.ok(r.stderr.includes(`key "${key}"`), r.stderr);
        assert.equal(existsSync(sb.socketPath), false);
        // status (which starts nothing) names the error to fix, not a start that would fail on it (issue 20, trap 8).
        const status = await sb.cli(['status']);
        assert.equal(status.code, 2);
        assertOneLine(status, 'status with a bad config');
        assert.match(
          status.stderr,
          /^kms-agent: no agent is running on .*agent\.sock \(no socket there\), and none can start: config /,
        );
        assert.ok(status.stderr.includes(`key "${key}"`), status.stderr);
        assert.match(status.stderr, /: fix the file, then run `eval "\$\(kms-agent start\)"`\n$/);
      } finally {
        await sb.close();
      }
    }
  },
);

test(
  'a socket directory that group or others can write, that is a symlink, or that another user owns is refused',
  { timeout: 60_000 },
  async () => {
    const sb = await staticSandbox();
    const socketDir = dirname(sb.socketPath);
    try {
      for (const mode of [0o777, 0o770, 0o702]) {
        mkdirSync(socketDir, { recursive: true });
        chmodSync(socketDir, mode);
        for (const args of [['start'], ['start', '--foreground']]) {
          const label = `mode ${mode.toString(8)}: ${args.join(' ')}`;
          const r = await sb.cli(args);
          assert.equal(r.code, 1, `${label}: ${r.stderr}`);
          assertOneLine(r, label);
          assert.ok(r.stderr.includes(socketDir), `${label}: names the directory`);
          assert.match(r.stderr, /group or others can write to it/, `${label}: says why`);
          assert.match(
            r.stderr,
            new RegExp(`chmod 700 ${socketDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
            `${label}: says what to do`,
          );
          assert.equal(existsSync(sb.socketPath), false, `${label}: no socket created`);
          assert.equal(
            statSync(socketDir).mode & 0o777,
            mode,
            `${label}: the directory was left as it was`,
          );
        }
        // token does not quietly start an agent there either: it refuses the directory itself (exit 1,
        // not "no agent": autostart must not run), as every client does before it sends a byte.
        const r = await sb.cli(['token']);
        assert.equal(r.code, 1, r.stderr);
        assertOneLine(r, `mode ${mode.toString(8)}: token`);
        assert.match(r.stderr, /group or others can write to it/);
        assert.equal(existsSync(sb.socketPath), false, 'no agent started there');
      }

      // A symbolic link, even to a private directory of ours, is refused.
      chmodSync(socketDir, 0o700);
      const real = join(sb.dir, 'elsewhere');
      mkdirSync(real, { mode: 0o700 });
      const moved = `${socketDir}.old`;
      // Replace the directory by a symlink to `real`.
      renameSync(socketDir, moved);
      symlinkSync(real, socketDir);
      for (const args of [['start'], ['start', '--foreground']]) {
        const r = await sb.cli(args);
        assert.equal(r.code, 1, `symlink: ${args.join(' ')}: ${r.stderr}`);
        assertOneLine(r, `symlink: ${args.join(' ')}`);
        assert.match(r.stderr, /refusing socket directory .*: it is a symbolic link/);
        assert.equal(existsSync(join(real, 'agent.sock')), false, 'nothing bound through the link');
      }
      unlinkSync(socketDir);
      renameSync(moved, socketDir);

      // A directory owned by another user (needs root to set up).
      if (process.getuid?.() === 0) {
        chownSync(socketDir, 65534, 65534);
        const r = await sb.cli(['start', '--foreground']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /owned by uid 65534, not you \(uid 0\)/);
        assert.equal(existsSync(sb.socketPath), false);
        chownSync(socketDir, 0, 0);
      }

      // Made private again, the same sandbox starts: the refusals above were about the directory.
      const r = await sb.cli(['start']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await answers(sb.socketPath), true);
    } finally {
      await sb.close();
    }
  },
);

test(
  'a missing socket directory is created 0700; a stale socket is replaced; a non-socket file is refused',
  { timeout: 60_000 },
  async () => {
    const sb = await staticSandbox();
    try {
      // XDG_RUNTIME_DIR exists, its kms-agent directory does not yet.
      assert.equal(existsSync(dirname(sb.socketPath)), false);
      // A foreground agent killed with SIGKILL leaves its socket file behind.
      const first = await startForeground(sb);
      assert.equal(
        statSync(dirname(sb.socketPath)).mode & 0o777,
        0o700,
        'socket directory created 0700',
      );
      assert.equal(statSync(sb.socketPath).mode & 0o777, 0o600, 'socket created 0600');
      first.child.kill('SIGKILL');
      await exited(first.child);
      assert.ok(lstatSync(sb.socketPath).isSocket(), 'the killed agent left a socket file');
      assert.equal(await answers(sb.socketPath), false, 'nobody answers on it');

      // start: the stale socket is replaced, an agent answers, and it is a new one.
      let r = await sb.cli(['start']);
      assert.equal(r.code, 0, r.stderr);
      const pid = await agentPid(sb);
      assert.notEqual(pid, first.child.pid);
      assert.match(r.stdout, new RegExp(`KMS_AGENT_PID=${pid}; export KMS_AGENT_PID;`));
      assert.equal(statSync(sb.socketPath).mode & 0o777, 0o600);
      r = await sb.cli(['stop']);
      assert.equal(r.code, 0, r.stderr);

      // The same for a foreground start over a stale socket, and for autostart by `token`.
      const second = await startForeground(sb);
      second.child.kill('SIGKILL');
      await exited(second.child);
      assert.ok(lstatSync(sb.socketPath).isSocket());
      const third = await startForeground(sb);
      assert.equal(await agentPid(sb), third.child.pid);
      third.child.kill('SIGKILL');
      await exited(third.child);
      r = await sb.cli(['token']);
      assert.equal(r.code, 5, `autostart over a stale socket, then "login required": ${r.stderr}`);
      assert.match(r.stderr, /kms-agent login --profile local/);
      r = await sb.cli(['stop']);
      assert.equal(r.code, 0);
      assert.equal(existsSync(sb.socketPath), false);

      // Something that is not a socket at the socket path is never deleted.
      writeFileSync(sb.socketPath, 'precious', { mode: 0o600 });
      for (const args of [['start'], ['start', '--foreground']]) {
        r = await sb.cli(args);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assertOneLine(r, args.join(' '));
        // `start` refuses it as a client first; `start --foreground`, in the daemon: the same advice.
        assert.match(r.stderr, /is not a socket: remove it or choose another path with --socket/);
        assert.equal(readFileSync(sb.socketPath, 'utf8'), 'precious', 'the file is untouched');
      }
      // A client will not talk to it either.
      r = await sb.cli(['token']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /refusing socket .*agent\.sock: it is not a socket/);
      assert.equal(readFileSync(sb.socketPath, 'utf8'), 'precious', 'the file is untouched');
      unlinkSync(sb.socketPath);
    } finally {
      await sb.close();
    }
  },
);

test(
  'start with an agent already answering prints the same exports and exits 0',
  { timeout: 60_000 },
  async () => {
    const sb = await staticSandbox();
    try {
      const first = await sb.cli(['start']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        new RegExp(
          `^KMS_AGENT_SOCK=${sb.socketPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}; export KMS_AGENT_SOCK;$`,
          'm',
        ),
      );
      const pid = await agentPid(sb);

      for (let i = 0; i < 2; i++) {
        const again = await sb.cli(['start']);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, first.stdout, 'the same lines as the first start');
        assert.equal(await agentPid(sb), pid, 'the running agent was left alone');
      }
      // csh syntax too.
      const csh = await sb.cli(['start', '-c']);
      assert.equal(csh.code, 0);
      assert.match(csh.stdout, /^setenv KMS_AGENT_SOCK \S+;$/m);

      // eval "$(kms-agent start)" works in sh.
      const shell = await new Promise((resolve) => {
        const child = spawn(
          'sh',
          [
            '-c',
            `eval "$("${process.execPath}" "${CLI}" start)"; echo "sock=$KMS_AGENT_SOCK pid=$KMS_AGENT_PID"`,
          ],
          {
            env: sb.env,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ code, out }));
      });
      assert.equal(shell.code, 0);
      assert.equal(shell.out, `Agent pid ${pid}\nsock=${sb.socketPath} pid=${pid}\n`);

      // A foreground start beside a running agent refuses rather than stealing its socket.
      const fg = await sb.cli(['start', '--foreground']);
      assert.notEqual(fg.code, 0);
      assert.match(fg.stderr, /already running/);
      assert.equal(await agentPid(sb), pid);
    } finally {
      await sb.close();
    }
  },
);

test(
  'stop and status with no agent exit 2 and say how to start one; no autostart when told not to',
  { timeout: 60_000 },
  async () => {
    const sb = await staticSandbox();
    try {
      for (const args of [['stop'], ['status'], ['status', '--json']]) {
        const r = await sb.cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assertOneLine(r, args.join(' '));
        assert.match(r.stderr, /no agent is running on .*agent\.sock/);
        assert.match(r.stderr, /eval "\$\(kms-agent start\)"/, 'says how to start one');
        assert.equal(existsSync(sb.socketPath), false, `${args.join(' ')} does not start an agent`);
      }

      // --no-autostart (after the command, or before it) and KMS_AGENT_NO_AUTOSTART=1.
      const refusals = [
        { args: ['token', '--no-autostart'] },
        { args: ['--no-autostart', 'token'] },
        { args: ['token'], env: { KMS_AGENT_NO_AUTOSTART: '1' } },
        { args: ['token', '--json'], env: { KMS_AGENT_NO_AUTOSTART: '1' } },
        { args: ['--no-autostart', 'login'] },
        { args: ['login'], env: { KMS_AGENT_NO_AUTOSTART: '1' } },
        { args: ['profiles'], env: { KMS_AGENT_NO_AUTOSTART: '1' } },
        { args: ['exec', '--', 'true'], env: { KMS_AGENT_NO_AUTOSTART: '1' } },
        // The flag after the command name too, as `token` takes it.
        { args: ['login', '--no-autostart'] },
        { args: ['logout', '--no-autostart'] },
        { args: ['profiles', '--no-autostart'] },
        { args: ['exec', '--no-autostart', '--', 'true'] },
        { args: ['stop', '--no-autostart'] },
        { args: ['status', '--no-autostart'] },
      ];
      for (const { args, env } of refusals) {
        const label = `${env ? 'KMS_AGENT_NO_AUTOSTART=1 ' : ''}${args.join(' ')}`;
        const r = await sb.cli(args, { env });
        assert.equal(r.code, 2, `${label}: ${r.stderr}`);
        assertOneLine(r, label);
        assert.match(r.stderr, /no agent is running/, label);
        assert.equal(existsSync(sb.socketPath), false, `${label}: no daemon started`);
        assert.equal(
          existsSync(sb.logPath),
          false,
          `${label}: no daemon launched (it would have opened its log)`,
        );
      }

      // The control: without those, the same command does start one.
      const r = await sb.cli(['token'], { env: { KMS_AGENT_NO_AUTOSTART: '0' } });
      assert.equal(r.code, 5, r.stderr);
      assert.equal(await answers(sb.socketPath), true, 'autostart happened');
    } finally {
      await sb.close();
    }
  },
);

test(
  'SIGTERM and SIGINT stop a foreground agent cleanly: socket removed, exit 0',
  { timeout: 60_000 },
  async () => {
    const sb = await staticSandbox();
    try {
      for (const signal of ['SIGTERM', 'SIGINT']) {
        const agent = await startForeground(sb);
        // A client still connected does not keep the agent alive.
        const client = await AgentClient.connect(sb.socketPath);
        assert.equal((await client.call('agent.status', {})).pid, agent.child.pid);
        agent.child.kill(signal);
        const { code, signal: killedBy } = await exited(agent.child);
        client.close();
        assert.equal(killedBy, null, `${signal}: exited by itself`);
        assert.equal(code, 0, `${signal}: exit 0; stderr: ${agent.stderr()}`);
        assert.equal(existsSync(sb.socketPath), false, `${signal}: socket file removed`);
        assert.match(agent.stderr(), /"msg":"stopped"/);
      }
      // And `stop` on a detached agent.
      let r = await sb.cli(['start']);
      assert.equal(r.code, 0);
      r = await sb.cli(['stop']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(sb.socketPath), false, 'stop removed the socket file');
    } finally {
      await sb.close();
    }
  },
);

test('help and usage errors', { timeout: 60_000 }, async () => {
  const sb = await staticSandbox();
  try {
    let r = await sb.cli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of [
      'start',
      'stop',
      'status',
      'login',
      'logout',
      'token',
      'exec',
      'profiles',
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${command}\\b`, 'm'), `--help lists ${command}`);
    }
    assert.match(r.stdout, /--no-autostart/);
    assert.match(r.stdout, /Exit codes:/);

    r = await sb.cli(['token', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: kms-agent token/m);
    for (const option of [
      '--profile',
      '--min-valid',
      '--id',
      '--access',
      '--scope',
      '--audience',
      '--json',
      '--header',
    ]) {
      assert.match(
        r.stdout,
        new RegExp(`^\\s+(-\\w, )?${option}\\b`, 'm'),
        `token --help lists ${option}`,
      );
    }
    r = await sb.cli(['login', '--help']);
    assert.equal(r.code, 0);
    for (const option of ['--profile', '--device', '--no-browser', '--timeout'])
      assert.match(r.stdout, new RegExp(option));

    // Usage errors: exit 1, one clear line, nothing on stdout, no agent started for them.
    const usage = [
      [['token', '--bogus'], /unknown option --bogus/],
      [['token', '--min-valid', 'soon'], /--min-valid takes a number of seconds, got "soon"/],
      [['token', '--profile'], /option --profile needs a value/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['login', '--timeout', 'x'], /expected a number of seconds/],
    ];
    for (const [args, says] of usage) {
      r = await sb.cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, says, args.join(' '));
    }
    assert.equal(existsSync(sb.socketPath), false, 'no agent started by a usage error');
  } finally {
    await sb.close();
  }
});
