// The two agents under test, each private to the bench run: own HOME and XDG dirs, own socket,
// started and stopped by pid. Nothing outside the run's temporary directory is touched.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_PUBLIC_CLIENT_ID } from '../../dist/demo/localProvider.js';
import { playAuthorization } from '../../dist/demo/browserPlayer.js';
import { AgentClient } from '../../dist/client/agentClient.cjs';
import { alive, childrenOf } from './procstat.mjs';
export { freePort } from '../../dist/demo/freePort.js';

const run = promisify(execFile);
export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const CLI = join(ROOT, 'dist', 'client', 'bin.cjs');
const FAKE_BROWSER = join(ROOT, 'test', 'support', 'browser.mjs');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


async function waitUntil(what, test, timeoutMs = 10_000, stepMs = 25) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await test()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stops a process by pid: SIGTERM, then SIGKILL after graceMs. Only pids this run started. */
export async function stopPid(pid, graceMs = 3000) {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

// ---- a private Secret Service (D-Bus session + gnome-keyring), when the tools exist -------------

export async function startPrivateKeyring(dir) {
  const which = async (cmd) => run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
  if (!(await which('dbus-daemon')) || !(await which('gnome-keyring-daemon'))) return null;
  const keyringDir = join(dir, 'keyring');
  mkdirSync(join(keyringDir, 'run'), { recursive: true, mode: 0o700 });
  const busAddress = `unix:path=${join(keyringDir, 'bus')}`;
  const bus = spawn('dbus-daemon', ['--session', '--nofork', `--address=${busAddress}`, '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const address = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('dbus-daemon did not start')), 5000);
    bus.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.trim());
      }
    });
    bus.once('exit', () => reject(new Error('dbus-daemon exited')));
  });
  const env = {
    PATH: process.env.PATH,
    DBUS_SESSION_BUS_ADDRESS: address,
    XDG_DATA_HOME: join(keyringDir, 'data'),
    XDG_RUNTIME_DIR: join(keyringDir, 'run'),
    HOME: keyringDir,
  };
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  keyring.stdin.end('bench-keyring-password');
  // Ready once the Secret Service name is owned on the bus.
  await waitUntil('gnome-keyring on the private bus', async () => {
    try {
      const { stdout } = await run('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames'], { env });
      return stdout.includes('org.freedesktop.secrets');
    } catch {
      return false;
    }
  }, 10_000, 50);
  return {
    address,
    pids: [bus.pid, keyring.pid],
    async stop() {
      await stopPid(keyring.pid);
      await stopPid(bus.pid);
    },
  };
}

// ---- kms-agent ----------------------------------------------------------------------------------

/**
 * A kms-agent sandbox whose config holds one profile per provider (`tokenFile: true`: it keeps a
 * token file, bench/tokenFiles.mjs), started with `kms-agent start`
 * (the detached daemon, as a user runs it) and logged in to each profile by the fake browser.
 */
export async function setupKms({ dir, profiles, store, busAddress }) {
  const base = join(dir, 'kms');
  const runtime = join(base, 'run');
  mkdirSync(join(base, 'home'), { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const configPath = join(base, 'config.toml');
  const lines = [`default_profile = "${profiles[0].name}"`, ''];
  for (const p of profiles) {
    lines.push(
      `[profiles.${p.name}]`,
      `client_id = "${LOCAL_PUBLIC_CLIENT_ID}"`,
      `issuer = "${p.issuer}"`,
      `redirect_url = "${p.redirectUrl}"`,
      `store = "${store}"`,
      ...(p.tokenFile ? ['token_file = true'] : []),
      '',
    );
  }
  writeFileSync(configPath, lines.join('\n'), { mode: 0o600 });
  const env = {
    PATH: process.env.PATH,
    HOME: join(base, 'home'),
    XDG_RUNTIME_DIR: runtime,
    XDG_STATE_HOME: join(base, 'state'),
    XDG_CONFIG_HOME: join(base, 'xdgconfig'),
    KMS_AGENT_CONFIG: configPath,
    BROWSER: FAKE_BROWSER,
    ...(busAddress ? { DBUS_SESSION_BUS_ADDRESS: busAddress } : {}),
  };
  const socket = join(runtime, 'kms-agent', 'agent.sock');
  let pid;

  const cli = (args, timeout = 60_000) =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env, timeout }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  async function rpc(method, params = {}) {
    const client = await AgentClient.connect(socket);
    try {
      return await client.call(method, params, 30_000);
    } finally {
      client.close();
    }
  }

  async function start() {
    const result = await cli(['start']);
    if (result.code !== 0) throw new Error(`kms-agent start failed: ${result.stderr}`);
    pid = Number(/KMS_AGENT_PID=(\d+)/.exec(result.stdout)?.[1]) || (await rpc('agent.status')).pid;
    return result;
  }

  async function stop() {
    if (pid && alive(pid)) {
      await cli(['stop', '--no-autostart'], 10_000);
      await waitUntil('kms-agent to exit', () => !alive(pid), 5000).catch(() => stopPid(pid));
    }
  }

  async function login(profile) {
    const result = await cli(['login', '--profile', profile, '--timeout', '60']);
    if (result.code !== 0) throw new Error(`kms-agent login --profile ${profile} failed: ${result.stderr}`);
  }

  return {
    env,
    socket,
    configPath,
    logPath: join(base, 'state', 'kms-agent', 'agent.log'),
    get pid() {
      return pid;
    },
    cli,
    rpc,
    start,
    stop,
    login,
  };
}

// ---- oidc-agent ---------------------------------------------------------------------------------

export const OIDC_AGENT_CLIENT = {
  client_id: 'oidc-agent-bench',
  client_secret: 'oidc-agent-bench-secret-not-a-real-one',
  redirect_uri: 'http://localhost:4242/',
};

/** The provider-side registration of oidc-agent's client (oidc-gen sends the redirect URI it is given). */
export function oidcAgentClientMetadata() {
  return {
    client_id: OIDC_AGENT_CLIENT.client_id,
    client_secret: OIDC_AGENT_CLIENT.client_secret,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [OIDC_AGENT_CLIENT.redirect_uri],
  };
}

/**
 * A private oidc-agent: `oidc-agent --socket-path` under the run's directory, its accounts in
 * the run's own HOME, enrolled headless with `oidc-gen --flow=code --no-url-call --no-webserver
 * --no-scheme --pw-env` then `oidc-gen --codeExchange=CALLBACK` after the fake browser played
 * the provider's login pages.
 */
export async function setupOidcAgent({ dir }) {
  const base = join(dir, 'oidc');
  const runtime = join(base, 'run');
  mkdirSync(join(base, 'home'), { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const socket = join(runtime, 'oidc-agent.sock');
  const env = {
    PATH: process.env.PATH,
    HOME: join(base, 'home'),
    TMPDIR: runtime,
    XDG_RUNTIME_DIR: runtime,
    OIDC_SOCK: socket,
    OIDC_ENCRYPTION_PW: 'bench-encryption-password',
  };
  let pids = [];

  const exec = (cmd, args, timeout = 30_000) =>
    new Promise((resolve) => {
      execFile(cmd, args, { env, timeout }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  async function start() {
    const result = await exec('oidc-agent', [`--socket-path=${socket}`, '--json', '--quiet']);
    if (result.code !== 0) throw new Error(`oidc-agent failed to start: ${result.stderr}`);
    const info = JSON.parse(result.stdout);
    const proxy = Number(info.dpid);
    env.OIDCD_PID = String(proxy);
    await waitUntil('oidc-agent socket', () => existsSync(socket), 5000);
    // oidc-agent forks: the pid it prints serves the socket, its child (oidcd) holds the accounts.
    pids = [proxy, ...childrenOf(proxy)];
    return result;
  }

  async function stop() {
    if (pids.length === 0) return;
    await exec('oidc-agent', ['--kill'], 10_000);
    for (const pid of pids) await stopPid(pid, 2000);
    pids = [];
  }

  async function enroll(account, issuer) {
    const gen = await exec('oidc-gen', [
      account,
      '--flow=code',
      '--no-url-call',
      '--no-webserver',
      '--no-scheme',
      '--pw-env',
      `--iss=${issuer}`,
      `--client-id=${OIDC_AGENT_CLIENT.client_id}`,
      `--client-secret=${OIDC_AGENT_CLIENT.client_secret}`,
      `--redirect-uri=${OIDC_AGENT_CLIENT.redirect_uri}`,
      '--scope=openid email offline_access',
      '--confirm-default',
      '--prompt=none',
    ]);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(gen.stdout + gen.stderr)?.[1];
    if (!url) throw new Error(`oidc-gen printed no authorization URL (exit ${gen.code}): ${(gen.stderr || gen.stdout).slice(0, 400)}`);
    const callback = await playAuthorization(url, { login: 'alice' });
    const exchange = await exec('oidc-gen', [account, `--codeExchange=${callback}`, '--pw-env', '--confirm-default', '--prompt=none']);
    if (exchange.code !== 0 || !/success/i.test(exchange.stdout + exchange.stderr)) {
      throw new Error(`oidc-gen --codeExchange failed (exit ${exchange.code}): ${(exchange.stderr || exchange.stdout).slice(0, 400)}`);
    }
  }

  return {
    env,
    socket,
    get pids() {
      return pids;
    },
    exec,
    start,
    stop,
    enroll,
    add: (account) => exec('oidc-add', ['--pw-env', account]),
    token: (account) => exec('oidc-token', [account]),
    version: async () => (await exec('oidc-agent', ['--version'])).stdout.trim(),
  };
}

export function readIfExists(path) {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
