#!/usr/bin/env node
// Run by scripts/build.mjs: `codeCache.mjs fast|daemon` writes V8's code cache of one bundle,
// `<bundle>.cache`, after a warm-up run of that bundle in this process, compiled by the loader
// that runs it in use (src/os/bundleLoader.ts), so the cache holds the functions a real call runs.
// - fast: one `kms-agent token` call against a stand-in agent that answers any request.
// - daemon: the daemon on a private socket with a one-profile config, asked for its status and a
//   token (not logged in), then stopped. Its log is shown only when the warm-up fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIST = new URL('../dist/', import.meta.url);
const { loadBundle } = await import(new URL('os/bundleLoader.js', DIST).href);
const { DAEMON_BUNDLE, FAST_PATH_BUNDLE } = await import(new URL('os/packageFiles.js', DIST).href);

const dir = mkdtempSync(join(tmpdir(), 'kms-agent-build-'));
const socketPath = join(dir, 'agent.sock');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Loads `bundle`; `cache()` then writes what V8 compiled of it so far. */
function warmUp(bundle) {
  let script;
  const exports = loadBundle(bundle, (compiled) => (script = compiled));
  return { exports, cache: () => writeFileSync(`${bundle}.cache`, script.createCachedData()) };
}

function fastPath() {
  const reply =
    '{"jsonrpc":"2.0","id":1,"result":{"token":"warm.up.token","token_type":"Bearer",' +
    '"expires_at":4102444800,"profile":"warm-up"}}\n';
  const agent = createServer((socket) => socket.on('data', () => socket.end(reply)));
  agent.listen(socketPath, () => {
    const { exports, cache } = warmUp(FAST_PATH_BUNDLE);
    const args = ['token', '--socket', socketPath, '--no-autostart', '--profile', 'warm-up'];
    exports.runFastCommand(args, (code) => {
      agent.close();
      if (code !== 0) throw new Error(`the warm-up token call exited ${code}`);
      cache();
    });
  });
}

const ask = (method) =>
  new Promise((resolve) => {
    const request = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} });
    const socket = createConnection(socketPath, () => socket.write(`${request}\n`));
    socket.on('data', () => {
      socket.destroy();
      resolve();
    });
  });

async function daemon() {
  const configPath = join(dir, 'config.toml');
  const profile = 'issuer = "https://warm-up.invalid"\nclient_id = "warm-up"\nstore = "memory"\n';
  writeFileSync(configPath, `[profiles.warm-up]\n${profile}`, { mode: 0o600 });
  // Nothing of the caller's environment (a KMS_AGENT_* or Cosmian CLI variable) reaches it.
  const { PATH } = process.env;
  for (const name of Object.keys(process.env)) delete process.env[name];
  const home = {
    PATH,
    HOME: dir,
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
  Object.assign(process.env, home);
  const { exports, cache } = warmUp(DAEMON_BUNDLE);
  const onReady = async () => {
    await ask('agent.status');
    await ask('token.get');
    cache();
    process.kill(process.pid, 'SIGTERM');
  };
  await exports.runDaemon({ socketPath, configPath, onReady });
}

const which = process.argv[2];
if (which === 'fast') fastPath();
else if (which === 'daemon') await daemon();
else throw new Error(`usage: codeCache.mjs fast|daemon (got ${which})`);
