// Life as a service: the systemd user units pass systemd's own checker, the daemon serves its first
// request through a socket that systemd-style activation handed it, the launchd plist has the keys
// launchd needs, and `install-service --dry-run` shows everything while changing nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CLI, ROOT, makeSandbox } from './support/harness.mjs';
import { systemdPlan } from '../dist/client/commands/installService/servicePlans.js';
import { freePort } from '../dist/demo/freePort.js';
import { hasCommand } from './support/processes.mjs';

const noSystemdAnalyze =
  !hasCommand('systemd-analyze') &&
  'systemd-analyze is missing (apt-get install systemd; CI installs it)';
const noSocketActivate =
  !hasCommand('systemd-socket-activate') &&
  'systemd-socket-activate is missing (apt-get install systemd; CI installs it)';
const noPython = !hasCommand('python3') && 'python3 is missing';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a program; resolves with exit code and output, never rejects. */
function run(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, ...options }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

/** A temp dir with a 0700 runtime dir, as pam_systemd makes $XDG_RUNTIME_DIR. */
function tempDirs() {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-units-'));
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const units = join(dir, 'units');
  mkdirSync(units);
  return { dir, runtime, units };
}

/** Writes the units `install-service` would install into `unitsDir`; returns their paths. */
function writePlannedUnits(unitsDir, env, edit = (content) => content) {
  return systemdPlan(env).files.map((file) => {
    const path = join(unitsDir, basename(file.path));
    writeFileSync(path, edit(file.content, basename(file.path)));
    return path;
  });
}

function verify(paths, runtime) {
  return run('systemd-analyze', ['--user', 'verify', ...paths], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_RUNTIME_DIR: runtime },
  });
}

test(
  'systemd-analyze --user verify accepts both units as install-service writes them',
  { skip: noSystemdAnalyze, timeout: 60_000 },
  async () => {
    const { dir, runtime, units } = tempDirs();
    try {
      const env = {
        HOME: join(dir, 'home'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_RUNTIME_DIR: runtime,
      };
      const paths = writePlannedUnits(units, env);
      assert.deepEqual(
        paths.map((p) => basename(p)),
        ['kms-agent.socket', 'kms-agent.service'],
      );
      const service = readFileSync(paths[1], 'utf8');
      const execStart = service.match(/^ExecStart=(.*)$/gm);
      assert.equal(execStart?.length, 1, 'one ExecStart line');
      assert.equal(
        execStart[0],
        `ExecStart=${process.execPath} --v8-pool-size=1 ${join(ROOT, 'dist', 'client', 'bin.cjs')} start --foreground`,
      );
      const socket = readFileSync(paths[0], 'utf8');
      assert.match(socket, /^ListenStream=%t\/kms-agent\/agent\.sock$/m);
      assert.match(socket, /^SocketMode=0600$/m);
      assert.match(socket, /^DirectoryMode=0700$/m);

      const result = await verify(paths, runtime);
      assert.equal(result.code, 0, `systemd-analyze verify: ${result.stderr}`);
      assert.doesNotMatch(
        result.stderr,
        /kms-agent\.(service|socket)/,
        'no complaint about either unit',
      );

      // The unit files as shipped in the repository (ExecStart through /usr/bin/env) pass too.
      const shipped = ['kms-agent.socket', 'kms-agent.service'].map((f) =>
        join(ROOT, 'systemd', f),
      );
      const asShipped = await verify(shipped, runtime);
      assert.equal(asShipped.code, 0, `systemd-analyze verify (as shipped): ${asShipped.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'systemd-analyze --user verify rejects a service whose ExecStart cannot run (the check checks)',
  { skip: noSystemdAnalyze, timeout: 60_000 },
  async () => {
    const { dir, runtime, units } = tempDirs();
    try {
      const env = {
        HOME: join(dir, 'home'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        XDG_RUNTIME_DIR: runtime,
      };
      const broken = '/nonexistent/kms-agent-node';
      const paths = writePlannedUnits(units, env, (content) =>
        content.replace(/^ExecStart=\S+/m, `ExecStart=${broken}`),
      );
      assert.match(readFileSync(paths[1], 'utf8'), new RegExp(`^ExecStart=${broken} `, 'm'));
      const result = await verify(paths, runtime);
      assert.notEqual(result.code, 0, 'a broken ExecStart is rejected');
      assert.match(
        result.stderr,
        new RegExp(`kms-agent\\.service: Command ${broken} is not executable`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** The JSON lines of a pino log. */
function logRecords(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return {};
      }
    });
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

test(
  'socket activation: the daemon serves its first request through the descriptor systemd-socket-activate passed',
  { skip: noSocketActivate, timeout: 90_000 },
  async () => {
    // The login listener gets a port of its own, so it never meets another agent's on 17899.
    const redirect = `http://localhost:${await freePort()}/authorization`;
    const sb = await makeSandbox({
      provider: { redirectUris: [redirect] },
      profile: { redirect_url: redirect, store: 'file' },
    });
    let activator;
    try {
      // The unit's socket: ListenStream=%t/kms-agent/agent.sock, DirectoryMode=0700, SocketMode=0600.
      assert.equal(sb.socketPath, join(sb.env.XDG_RUNTIME_DIR, 'kms-agent', 'agent.sock'));
      mkdirSync(join(sb.env.XDG_RUNTIME_DIR, 'kms-agent'), { mode: 0o700 });
      // systemd-socket-activate hands its child only HOME, PATH, TERM and what -E names; UMask=0077 as in the unit.
      const passed = ['KMS_AGENT_CONFIG', 'XDG_RUNTIME_DIR', 'XDG_STATE_HOME', 'XDG_CONFIG_HOME'];
      const args = [
        '-l',
        sb.socketPath,
        ...passed.flatMap((name) => ['-E', name]),
        '-E',
        `KMS_AGENT_SOCK=${sb.socketPath}`,
      ];
      activator = spawn(
        'sh',
        [
          '-c',
          'umask 077; exec systemd-socket-activate "$@"',
          'sh',
          ...args,
          process.execPath,
          CLI,
          'start',
          '--foreground',
        ],
        {
          env: sb.env,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      activator.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise((resolve) =>
        activator.on('close', (code, signal) => resolve({ code, signal })),
      );

      for (let i = 0; i < 200 && !/Listening on .* as 3\./.test(stderr); i++) await sleep(50);
      assert.match(
        stderr,
        /Listening on .*agent\.sock as 3\./,
        `systemd-socket-activate listens (${stderr})`,
      );
      chmodSync(sb.socketPath, 0o600);
      const before = statSync(sb.socketPath);
      assert.ok(before.isSocket(), 'systemd-socket-activate created the socket file');
      assert.equal(
        cmdline(activator.pid)[0],
        'systemd-socket-activate',
        'no daemon before the first connection',
      );
      assert.doesNotMatch(stderr, /agent started/);

      // The first request: `kms-agent token`, with autostart off so nothing but the activated daemon can answer.
      const noAutostart = { KMS_AGENT_NO_AUTOSTART: '1' };
      let r = await sb.cli(['token'], { env: noAutostart });
      assert.equal(
        r.code,
        5,
        `the activated daemon answered the first token request (stderr: ${r.stderr})`,
      );
      assert.match(
        r.stderr,
        /not logged in to profile local: run `kms-agent login --profile local`/,
      );
      assert.match(stderr, /Communication attempt on fd 3\./);
      assert.match(stderr, /Execing .*bin\.cjs start --foreground/);

      // The daemon (systemd-socket-activate exec'd it, so LISTEN_PID is its pid) bound fd 3, not the path.
      const started = logRecords(stderr).find((rec) => rec.msg === 'agent started');
      assert.ok(started, `"agent started" in the foreground log on stderr: ${stderr}`);
      assert.equal(started.via, 'systemd', 'the daemon listens on the descriptor it was passed');
      assert.equal(started.socket, sb.socketPath);
      assert.equal(started.pid, activator.pid);
      assert.deepEqual(cmdline(activator.pid).slice(1), [CLI, 'start', '--foreground']);
      const after = statSync(sb.socketPath);
      assert.equal(
        after.ino,
        before.ino,
        'the daemon did not create the socket itself (same inode)',
      );
      assert.equal(after.mode & 0o777, 0o600);

      // The whole path through the passed descriptor: status, login, a token.
      const status = await sb.rpc('agent.status');
      assert.equal(status.pid, activator.pid);
      r = await sb.cli(['login'], { env: noAutostart });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^logged in to profile local as alice@example\.com$/m);
      r = await sb.token();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);

      // `kms-agent stop`: the daemon exits cleanly and stop returns at once, although the socket file
      // stays (it is systemd's: the next connection would start the service again).
      const stopStarted = Date.now();
      r = await sb.cli(['stop'], { env: noAutostart });
      assert.equal(r.code, 0, r.stderr);
      // Below the 5 s after which stop gives up waiting: it saw the daemon exit (CLI start included).
      assert.ok(Date.now() - stopStarted < 5000, `stop returned in ${Date.now() - stopStarted} ms`);
      let timer;
      const { code, signal } = await Promise.race([
        exited,
        new Promise((resolve) => (timer = setTimeout(resolve, 15_000, { code: 'timeout' }))),
      ]);
      clearTimeout(timer);
      assert.equal(signal, null);
      assert.equal(code, 0, `the daemon exits cleanly (stderr: ${stderr})`);
      assert.ok(logRecords(stderr).some((rec) => rec.msg === 'stopped'));
      assert.equal(statSync(sb.socketPath).ino, before.ino, 'the socket file is left to its owner');
      sb.logs.push(stderr);
    } finally {
      if (activator && activator.exitCode === null && activator.signalCode === null)
        activator.kill('SIGKILL');
      await sb.close();
    }
  },
);

test(
  'launchd/org.kms-agent.plist parses and has the keys a per-user LaunchAgent needs',
  { skip: noPython },
  async () => {
    const script = [
      'import json, plistlib, sys',
      'with open(sys.argv[1], "rb") as f: print(json.dumps(plistlib.load(f)))',
    ].join('\n');
    const result = await run('python3', [
      '-c',
      script,
      join(ROOT, 'launchd', 'org.kms-agent.plist'),
    ]);
    assert.equal(result.code, 0, `plistlib parses it: ${result.stderr}`);
    const plist = JSON.parse(result.stdout);
    assert.equal(plist.Label, 'org.kms-agent');
    assert.ok(Array.isArray(plist.ProgramArguments));
    assert.deepEqual(plist.ProgramArguments.slice(-2), ['start', '--foreground']);
    assert.equal(
      plist.ProgramArguments.length,
      5,
      'node, --v8-pool-size=1, the CLI, start, --foreground',
    );
    assert.equal(plist.RunAtLoad, true);
    assert.ok(
      plist.KeepAlive === true ||
        (typeof plist.KeepAlive === 'object' && plist.KeepAlive.SuccessfulExit === false),
      'KeepAlive restarts it when it fails',
    );
    assert.match(plist.EnvironmentVariables?.KMS_AGENT_SOCK ?? '', /\/kms-agent\/agent\.sock$/);
    assert.match(plist.StandardErrorPath ?? '', /kms-agent\.log$/);
    assert.equal(plist.Umask, 0o77);
    // install-service fills in every @…@ placeholder; no other ones exist.
    const raw = readFileSync(join(ROOT, 'launchd', 'org.kms-agent.plist'), 'utf8');
    assert.deepEqual([...new Set(raw.match(/@[A-Z]+@/g))].sort(), ['@CLI@', '@HOME@', '@NODE@']);
  },
);

/** Every path under `dir`, for a before/after comparison. */
function tree(dir) {
  return readdirSync(dir, { recursive: true }).sort();
}

test(
  'install-service --dry-run writes nothing and prints the files and the systemctl commands',
  { skip: process.platform === 'darwin' && 'prints the launchd plan on macOS', timeout: 30_000 },
  async () => {
    const { dir, runtime } = tempDirs();
    try {
      const config = join(dir, 'config');
      const home = join(dir, 'home');
      mkdirSync(config);
      mkdirSync(home);
      const before = tree(dir);
      const result = await run(process.execPath, [CLI, 'install-service', '--dry-run'], {
        env: {
          PATH: process.env.PATH,
          HOME: home,
          XDG_CONFIG_HOME: config,
          XDG_RUNTIME_DIR: runtime,
        },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(tree(dir), before, 'nothing written');
      assert.equal(existsSync(join(config, 'systemd')), false);
      const unitDir = join(config, 'systemd', 'user');
      assert.match(result.stdout, new RegExp(`^would write ${unitDir}/kms-agent\\.socket:$`, 'm'));
      assert.match(result.stdout, new RegExp(`^would write ${unitDir}/kms-agent\\.service:$`, 'm'));
      assert.match(result.stdout, /^ {2}ListenStream=%t\/kms-agent\/agent\.sock$/m);
      assert.match(
        result.stdout,
        new RegExp(
          `^  ExecStart=${process.execPath} --v8-pool-size=1 \\S+/dist/client/bin\\.cjs start --foreground$`,
          'm',
        ),
      );
      assert.match(result.stdout, /^would run: systemctl --user daemon-reload$/m);
      assert.match(result.stdout, /^would run: systemctl --user enable --now kms-agent\.socket$/m);
      assert.doesNotMatch(result.stdout, /^(wrote|ran): /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'install-service with no user systemd: writes the units and the state directory, says what to run, exits 0; systemd-analyze accepts what it wrote',
  { skip: process.platform === 'darwin' && 'launchd on macOS', timeout: 60_000 },
  async (t) => {
    const { dir, runtime } = tempDirs();
    try {
      const home = join(dir, 'home');
      mkdirSync(home);
      // A fresh runtime dir with no systemd/private socket and no D-Bus: no user manager answers.
      const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime };
      const dryRun = await run(process.execPath, [CLI, 'install-service', '--dry-run'], { env });
      assert.equal(dryRun.code, 0, dryRun.stderr);
      const stateDir = join(home, '.local', 'state', 'kms-agent');
      assert.match(dryRun.stdout, new RegExp(`^would create ${stateDir} \\(0700\\)$`, 'm'));

      const result = await run(process.execPath, [CLI, 'install-service'], { env });
      assert.equal(result.code, 0, `exit 0, as --dry-run: ${result.stderr}`);
      const unitDir = join(home, '.config', 'systemd', 'user');
      const units = ['kms-agent.socket', 'kms-agent.service'].map((f) => join(unitDir, f));
      assert.equal(
        result.stdout,
        [
          `wrote ${units[0]}`,
          `wrote ${units[1]}`,
          'No systemd user instance answers here (`systemctl --user show-environment`: Failed to connect to bus: No such file or directory), so nothing was enabled.',
          'Once one runs (a desktop session, or `loginctl enable-linger` for SSH logins), enable the agent with:',
          '  systemctl --user daemon-reload',
          '  systemctl --user enable --now kms-agent.socket',
          'Until then, start it from your shell: eval "$(kms-agent start)"',
          '',
        ].join('\n'),
      );
      t.diagnostic(result.stdout.trimEnd());
      // The directory of the unit's ReadWritePaths=-%S/kms-agent (%S is $XDG_STATE_HOME for a user unit).
      assert.equal(statSync(stateDir).mode & 0o777, 0o700);
      assert.match(
        readFileSync(units[1], 'utf8'),
        /^ReadWritePaths=-%S\/kms-agent -%t\/kms-agent$/m,
      );
      if (hasCommand('systemd-analyze')) {
        const verified = await verify(units, runtime);
        assert.equal(verified.code, 0, `systemd-analyze verify: ${verified.stderr}`);
        assert.doesNotMatch(verified.stderr, /kms-agent\.(service|socket)/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
