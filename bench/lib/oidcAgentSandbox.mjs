// The peer under test: a private oidc-agent (Debian package), `oidc-agent --socket-path` under the
// run's directory, its accounts in the run's own HOME, started and stopped by pid.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { playAuthorization } from './buildEntries.mjs';
import { execResult } from './childCommands.mjs';
import { childrenOf } from './procstat.mjs';
import { stopPid, waitUntil } from './processControl.mjs';

export const OIDC_AGENT_CLIENT = {
  client_id: 'oidc-agent-bench',
  client_secret: 'oidc-agent-bench-secret-not-a-real-one',
  redirect_uri: 'http://localhost:4242/',
};

/** The provider's registration of oidc-agent's client (oidc-gen sends the redirect URI it gets). */
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

/** oidc-gen's arguments for a headless code-flow enrolment of `account` at `issuer`. */
const enrolArgs = (account, issuer) => [
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
];

/**
 * Enrolled headless with `oidc-gen --flow=code --no-url-call --no-webserver --no-scheme --pw-env`,
 * then `oidc-gen --codeExchange=CALLBACK` after the fake browser played the provider's login pages.
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

  const exec = (cmd, args, timeout = 30_000) => execResult(cmd, args, { env, timeout });

  async function start() {
    const result = await exec('oidc-agent', [`--socket-path=${socket}`, '--json', '--quiet']);
    if (result.code !== 0) throw new Error(`oidc-agent failed to start: ${result.stderr}`);
    const proxy = Number(JSON.parse(result.stdout).dpid);
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
    const gen = await exec('oidc-gen', enrolArgs(account, issuer));
    const printed = gen.stdout + gen.stderr;
    const url = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(printed)?.[1];
    if (!url) {
      const why = (gen.stderr || gen.stdout).slice(0, 400);
      throw new Error(`oidc-gen printed no authorization URL (exit ${gen.code}): ${why}`);
    }
    const callback = await playAuthorization(url, { login: 'alice' });
    const exchangeArgs = [account, `--codeExchange=${callback}`, '--pw-env', '--confirm-default'];
    const exchange = await exec('oidc-gen', [...exchangeArgs, '--prompt=none']);
    if (exchange.code !== 0 || !/success/i.test(exchange.stdout + exchange.stderr)) {
      const why = (exchange.stderr || exchange.stdout).slice(0, 400);
      throw new Error(`oidc-gen --codeExchange failed (exit ${exchange.code}): ${why}`);
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
  };
}
