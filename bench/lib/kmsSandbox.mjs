// A kms-agent private to the bench run, of one build (the current one unless told): its own HOME
// and XDG directories, config and socket under the run's directory, started with that build's
// `kms-agent start` (the detached daemon, as a user runs it), logged in to each profile by the
// fake browser, stopped by pid. Nothing outside the run's directory is touched.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CURRENT, FAKE_BROWSER, LOCAL_PUBLIC_CLIENT_ID } from './buildEntries.mjs';
import { rpc } from './agentRpc.mjs';
import { execResult } from './childCommands.mjs';
import { alive } from './procstat.mjs';
import { stopPid, waitUntil } from './processControl.mjs';

/**
 * One [profiles.NAME] table per profile; `tokenFile: true` makes the agent keep a token file;
 * `clientId` replaces the public client, `keys` ({ key: value }) adds keys (docs/configuration.md:
 * dpop, grant…).
 */
function configText(profiles, store) {
  const lines = [`default_profile = "${profiles[0].name}"`, ''];
  for (const p of profiles) {
    lines.push(
      `[profiles.${p.name}]`,
      `client_id = "${p.clientId ?? LOCAL_PUBLIC_CLIENT_ID}"`,
      `issuer = "${p.issuer}"`,
      `redirect_url = "${p.redirectUrl}"`,
      `store = "${store}"`,
      ...(p.tokenFile ? ['token_file = true'] : []),
      ...Object.entries(p.keys ?? {}).map(([key, value]) => `${key} = ${JSON.stringify(value)}`),
      '',
    );
  }
  return lines.join('\n');
}

export async function setupKms({ dir, profiles, store, busAddress, build = CURRENT }) {
  const base = join(dir, 'kms');
  const runtime = join(base, 'run');
  mkdirSync(join(base, 'home'), { recursive: true });
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const configPath = join(base, 'config.toml');
  writeFileSync(configPath, configText(profiles, store), { mode: 0o600 });
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
    execResult(process.execPath, [build.cli, ...args], { env, timeout });

  async function start() {
    const result = await cli(['start']);
    if (result.code !== 0) throw new Error(`kms-agent start failed: ${result.stderr}`);
    const printed = Number(/KMS_AGENT_PID=(\d+)/.exec(result.stdout)?.[1]);
    pid = printed || (await rpc(socket, 'agent.status')).pid;
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
    if (result.code !== 0) {
      throw new Error(`kms-agent login --profile ${profile} failed: ${result.stderr}`);
    }
  }

  return {
    build,
    env,
    socket,
    configPath,
    logPath: join(base, 'state', 'kms-agent', 'agent.log'),
    get pid() {
      return pid;
    },
    cli,
    rpc: (method, params) => rpc(socket, method, params),
    start,
    stop,
    login,
  };
}
