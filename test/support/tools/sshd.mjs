// A throwaway OpenSSH server on 127.0.0.1 for the current user: its own host key, client key and
// authorized_keys in a temp dir, key authentication only, Unix-socket forwarding allowed with
// StreamLocalBindUnlink. sshd starts every session with its own environment (HOME from passwd, a
// default PATH, no XDG_RUNTIME_DIR, plus whatever the user's shell start-up files add): remote
// commands set theirs explicitly with remoteCommand(env, argv), `env -i NAME=value… argv…` quoted
// for the remote shell. Chosen over SendEnv/AcceptEnv: it needs no server setting, and nothing from
// the test machine's own environment or dotfiles (a KMS_AGENT_SOCK, say) reaches the remote side.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { allCommandLines, parentPid } from '../processes.mjs';
import { freePort } from '../../../dist/demo/freePort.js';
import { privateTempDir, run, shellQuote } from './processRun.mjs';

export const SSHD = '/usr/sbin/sshd';
/** As root, sshd wants its privilege-separation directory (Debian's package creates it at boot). */
const PRIVSEP_DIR = '/run/sshd';

/** Whether a throwaway sshd can run here (Debian's openssh-server and openssh-client installed). */
export const sshdAvailable =
  existsSync(SSHD) &&
  ['ssh', 'ssh-keygen'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);

const REMOTE_PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;

/** `env -i PATH=… NAME=value… argv…` as one string for the remote user's shell. */
export function remoteCommand(env, argv) {
  const assignments = Object.entries({ PATH: REMOTE_PATH, ...env }).map(([name, value]) =>
    shellQuote(`${name}=${value}`),
  );
  return ['env', '-i', ...assignments, ...argv.map(shellQuote)].join(' ');
}

function sshdConfig({ port, dir, user, extra }) {
  const settings = {
    ListenAddress: `127.0.0.1:${port}`,
    HostKey: join(dir, 'host_ed25519'),
    PidFile: 'none',
    AuthorizedKeysFile: join(dir, 'authorized_keys'),
    // The temp dir's modes are the test's business, not sshd's.
    StrictModes: 'no',
    PubkeyAuthentication: 'yes',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    UsePAM: 'no',
    PermitRootLogin: 'prohibit-password',
    AllowUsers: user,
    AllowStreamLocalForwarding: 'yes',
    StreamLocalBindUnlink: 'yes',
    // OpenSSH 9.2 also refuses `-R` of a Unix socket when this is `no` or `local`.
    AllowTcpForwarding: 'remote',
    X11Forwarding: 'no',
    PrintMotd: 'no',
    PrintLastLog: 'no',
    LogLevel: 'VERBOSE',
    ...extra,
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key} ${value}\n`)
    .join('');
}

/** Resolves once sshd says it listens; rejects with its log if it exits first or takes too long. */
function untilListening(child, log) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sshd did not start listening:\n${log()}`)),
      15_000,
    );
    const check = () => {
      if (/Server listening on 127\.0\.0\.1 port \d+/.test(log())) {
        clearTimeout(timer);
        child.stderr.off('data', check);
        resolve();
      }
    };
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${log()}`));
    });
  });
}

/** Processes descended from `root` (sshd's per-connection children), deepest first. */
function descendants(root) {
  const found = [];
  const all = allCommandLines().map((p) => ({ pid: p.pid, parent: parentPid(p.pid) }));
  const walk = (pid) => {
    for (const p of all.filter((q) => q.parent === pid)) {
      walk(p.pid);
      found.push(p.pid);
    }
  };
  walk(root);
  return found;
}

/**
 * Starts `sshd -D -e -f CONFIG` on 127.0.0.1 (a free port) that lets the current user in with a key
 * made for this server. Files live in a new directory under `dir` (default: the system temp dir),
 * removed by close(). `extraConfig` adds or overrides sshd_config keywords.
 * Returns { port, user, destination, sshArgs, ssh(args, {env}), spawnSsh(args, {env}), log(), close() }:
 * sshArgs are the client options (`-F /dev/null -i KEY -p PORT -o …`, no destination); ssh() and
 * spawnSsh() run `ssh …sshArgs …args`, so args hold the destination and any remote command.
 */
export async function startSshd({ dir, extraConfig = {} } = {}) {
  const home = privateTempDir('sshd', dir);
  const user = userInfo().username;
  if (process.getuid() === 0) mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  const keygen = (file) =>
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'kms-agent-test',
      '-f',
      join(home, file),
    ]);
  keygen('host_ed25519');
  keygen('client_ed25519');
  writeFileSync(join(home, 'authorized_keys'), readFileSync(join(home, 'client_ed25519.pub')), {
    mode: 0o600,
  });

  let child;
  let port;
  let stderr = '';
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const configPath = join(home, 'sshd_config');
    writeFileSync(configPath, sshdConfig({ port, dir: home, user, extra: extraConfig }), {
      mode: 0o600,
    });
    stderr = '';
    child = spawn(SSHD, ['-D', '-e', '-f', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => (stderr += chunk));
    try {
      await untilListening(child, () => stderr);
      break;
    } catch (err) {
      // Another process took the free port between freePort() and sshd's bind: try another.
      if (attempt < 3 && /Address already in use/.test(stderr)) continue;
      rmSync(home, { recursive: true, force: true });
      throw err;
    }
  }

  const sshArgs = [
    '-F',
    '/dev/null',
    '-i',
    join(home, 'client_ed25519'),
    '-p',
    String(port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
  ];
  const clientEnv = (env) => ({ PATH: process.env.PATH, HOME: home, ...env });
  return {
    port,
    user,
    destination: `${user}@127.0.0.1`,
    sshArgs,
    dir: home,
    ssh: (args, { env = {}, timeout } = {}) =>
      run('ssh', [...sshArgs, ...args], { env: clientEnv(env), timeout }),
    spawnSsh: (args, { env = {} } = {}) =>
      spawn('ssh', [...sshArgs, ...args], {
        env: clientEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    log: () => stderr,
    async close() {
      // Sessions still open keep their own sshd processes after the listener goes: end them too.
      for (const pid of descendants(child.pid)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
