// A sandbox per test: its own HOME/XDG dirs, config, socket and log, a real provider (the local
// oidc-provider, or Glewlwyd with makeGlewlwydSandbox), and helpers that drive the built CLI as a user would and talk JSON-RPC over the real socket.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdtempSync,
  mkdirSync,
  writeFileSync,
  readFileSync,
  existsSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalProvider, LOCAL_PUBLIC_CLIENT_ID } from '../../dist/demo/localProvider.js';
import { AgentClient } from '../../dist/client/fast/agentClient.js';
import { loadConfig } from '../../dist/config/config.js';
import { COMMAND_EXITS } from '../../dist/client/commandExits.js';
import { startGlewlwyd } from './glewlwyd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const CLI = join(ROOT, 'dist', 'client', 'bin.cjs');
export const FAKE_BROWSER = join(here, 'browser.mjs');

/** Why a test of the real keychain is skipped here, or false (scripts/test.sh provides one). */
export const noKeychain =
  !process.env.DBUS_SESSION_BUS_ADDRESS &&
  'no D-Bus session (run inside dbus-run-session with gnome-keyring)';

/** A TOML profile for the local provider; `extra` adds or overrides keys (undefined leaves one out). */
export function profileToml(name, issuer, extra = {}) {
  const keys = { client_id: LOCAL_PUBLIC_CLIENT_ID, issuer, ...extra };
  const lines = Object.entries(keys)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return `[profiles.${name}]\n${lines.join('\n')}\n`;
}

/**
 * The exit codes `args` (a kms-agent command line) may end with, as src/client/commandExits.ts
 * states them: { command, codes, child }, or undefined for a line that names no command.
 */
export function statedExits(args) {
  let i = 0;
  while (i < args.length && args[i].startsWith('-'))
    i += ['--socket', '--config'].includes(args[i]) ? 2 : 1;
  if (args[i] === undefined) return undefined;
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const command =
    args[i] === 'exec' && args.slice(i + 1, end).includes('--ckms') ? 'exec --ckms' : args[i];
  const exits = COMMAND_EXITS[command];
  return exits && { command, ...exits };
}

/** The providers a sandbox can run; the fake browser is told which one's login pages to play. */
const PROVIDERS = { 'oidc-provider': startLocalProvider, glewlwyd: startGlewlwyd };

/**
 * Options: provider (that provider's options, or null for none), providerKind ('oidc-provider', the
 * default, or 'glewlwyd'), config (TOML text, or a function of the issuer), profile (keys added to
 * the default profile `local`), env.
 */
export async function makeSandbox(options = {}) {
  const providerKind = options.providerKind ?? 'oidc-provider';
  if (!PROVIDERS[providerKind]) throw new Error(`unknown providerKind ${providerKind}`);
  const provider =
    options.provider === null ? null : await PROVIDERS[providerKind](options.provider ?? {});
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-test-'));
  const home = join(dir, 'home');
  const runtime = join(dir, 'run');
  mkdirSync(home, { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const configPath = join(dir, 'config.toml');
  const config =
    typeof options.config === 'function'
      ? options.config(provider?.issuer)
      : (options.config ?? profileToml('local', provider.issuer, options.profile ?? {}));
  writeFileSync(configPath, config, { mode: 0o600 });
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CONFIG_HOME: join(dir, 'xdgconfig'),
    KMS_AGENT_CONFIG: configPath,
    BROWSER: FAKE_BROWSER,
    FAKE_BROWSER_PROVIDER: providerKind,
    ...(process.env.DBUS_SESSION_BUS_ADDRESS
      ? { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS }
      : {}),
    ...(options.env ?? {}),
  };
  const socketPath = join(runtime, 'kms-agent', 'agent.sock');
  /** Every secret this sandbox saw (tokens printed, codes the browser got, refresh tokens in stores). */
  const secrets = new Set();
  /** Every log and stderr text this sandbox produced; close() checks none holds a secret. */
  const logs = [];
  const secretsFile = join(dir, 'browser-secrets.txt');
  env.FAKE_BROWSER_SECRETS = secretsFile;
  const rememberSecret = (value) => {
    if (typeof value === 'string' && value.trim().length >= 16) secrets.add(value.trim());
  };
  const logPath = join(dir, 'state', 'kms-agent', 'agent.log');

  /** Exit codes a command returned that src/client/commandExits.ts does not state for it: close() fails on any. */
  const unstatedExits = [];

  /** Runs the built CLI; resolves with its exit code and output (never rejects). */
  function cli(args, { env: extraEnv = {}, input, cwd } = {}) {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, ...args],
        { env: { ...env, ...extraEnv }, cwd, timeout: 60_000 },
        (error, stdout, stderr) => {
          logs.push(stderr);
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          const stated = statedExits(args);
          if (stated && !stated.child && !stated.codes.includes(code))
            unstatedExits.push(
              `\`${args.join(' ')}\` exited ${code}, not one of ${stated.command}'s ${stated.codes.join(', ')}`,
            );
          resolve({ code, stdout, stderr });
        },
      );
      if (input !== undefined) child.stdin.end(input);
    });
  }

  /** One JSON-RPC call over the real socket. */
  async function rpc(method, params = {}) {
    const client = await AgentClient.connect(socketPath);
    try {
      return await client.call(method, params);
    } finally {
      client.close();
    }
  }

  async function login(args = []) {
    const result = await cli(['login', ...args]);
    if (result.code !== 0) throw new Error(`login failed (${result.code}): ${result.stderr}`);
    return result;
  }

  async function token(args = [], options = {}) {
    const result = await cli(['token', ...args], options);
    if (result.code === 0)
      rememberSecret(
        result.stdout
          .replace(/^Authorization: \S+ /, '')
          .replace(/^\{.*"token":"([^"]+)".*$/s, '$1'),
      );
    return result;
  }

  /**
   * What the file store holds that is secret: refresh tokens, id_tokens, DPoP private keys
   * (keychain ones are collected by the tests that use it).
   */
  function fileStoreSecrets() {
    const storeDir = join(dir, 'state', 'kms-agent');
    if (!existsSync(storeDir)) return [];
    return readdirSync(storeDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(storeDir, f), 'utf8')))
      .flatMap((grant) => [grant.refresh_token, grant.id_token, grant.dpop_key?.d]);
  }

  /** Secrets found in this sandbox's logs and stderr (should be none). */
  function leakedSecrets() {
    for (const secret of fileStoreSecrets()) rememberSecret(secret);
    if (existsSync(secretsFile))
      readFileSync(secretsFile, 'utf8').split('\n').forEach(rememberSecret);
    const text = [...logs, existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''].join('\n');
    return {
      checked: secrets.size,
      logBytes: text.length,
      leaked: [...secrets].filter((s) => text.includes(s)).length,
    };
  }

  /** Stops the agent, checks no secret reached a log, removes everything. */
  async function close() {
    // Global options go before the command (`stop --no-autostart` was refused as an unknown option
    // by older builds, which left every sandbox's agent running).
    const stopped = await cli(['--no-autostart', 'stop']);
    let leaked;
    let checked;
    try {
      ({ leaked, checked } = leakedSecrets());
    } finally {
      // scripts/test.sh adds these up: how many provider calls the whole run made.
      if (provider && process.env.KMS_AGENT_TEST_STATS)
        appendFileSync(process.env.KMS_AGENT_TEST_STATS, JSON.stringify(provider.stats) + '\n');
      // Even when the check itself fails (a store file that does not parse), nothing is left running.
      await provider?.close();
      rmSync(dir, { recursive: true, force: true });
    }
    if (leaked > 0)
      throw new Error(
        `${leaked} of ${checked} secrets seen in this test appeared in a log or on stderr`,
      );
    if (unstatedExits.length > 0)
      throw new Error(
        `exit codes not stated in src/client/commandExits.ts: ${unstatedExits.join('; ')}`,
      );
    // 0 stopped, 2 no agent was running; anything else leaves an agent behind for later tests.
    if (stopped.code !== 0 && stopped.code !== 2)
      throw new Error(
        `could not stop this sandbox's agent (exit ${stopped.code}): ${stopped.stderr.trim()}`,
      );
  }

  return {
    dir,
    env,
    provider,
    configPath,
    socketPath,
    logPath,
    secrets,
    logs,
    rememberSecret,
    leakedSecrets,
    cli,
    rpc,
    login,
    token,
    close,
  };
}

/** A sandbox whose provider is a fresh Glewlwyd (test/support/glewlwyd.mjs); `provider` holds its options. */
export function makeGlewlwydSandbox(options = {}) {
  return makeSandbox({ ...options, providerKind: 'glewlwyd' });
}

/** Starts `kms-agent start --foreground` as a child, resolving once its socket answers. */
export async function startForeground(sandbox, args = [], extraEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'start', '--foreground', ...args], {
    env: { ...sandbox.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.on('close', () => sandbox.logs.push(stderr));
  for (let i = 0; i < 200; i++) {
    try {
      (await AgentClient.connect(sandbox.socketPath, 200)).close();
      return { child, stderr: () => stderr };
    } catch {
      if (child.exitCode !== null) throw new Error(`agent exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`agent did not start: ${stderr}`);
}

/** The store key of a sandbox's profile: it names the profile, client and (hashed) endpoints. */
export function storeKeyOf(sandbox, profile = 'local') {
  return loadConfig({ configPath: sandbox.configPath, env: sandbox.env }).profiles.get(profile)
    .storeKey;
}

/** The file store's file for a sandbox's profile. */
export function storeFileOf(sandbox, profile = 'local') {
  return join(
    sandbox.dir,
    'state',
    'kms-agent',
    `${createHash('sha256').update(storeKeyOf(sandbox, profile)).digest('hex')}.json`,
  );
}

/** The agent's log as records (pino writes one JSON object a line). */
export function logRecords(sandbox) {
  return readFileSync(sandbox.logPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

/** Decodes a JWT's payload without verifying it. */
export function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}
