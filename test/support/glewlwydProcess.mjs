// One Glewlwyd process (Debian package `glewlwyd`) in its own temp dir with its own sqlite
// database, on a free loopback port, as the current user.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort } from '../../dist/demo/freePort.js';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * Starts Glewlwyd with `externalUrl` as the address it writes into its redirects; resolves once it
 * answers HTTP. A port taken between choosing and binding is chosen again. Returns
 * {port, dir, log(), stop()}; stop() ends the process and removes its directory.
 */
export async function runGlewlwyd(externalUrl) {
  for (let attempt = 1; ; attempt += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'glewlwyd-'));
    const port = await freePort();
    let server;
    try {
      writeFileSync(join(dir, 'glewlwyd.db'), await templateDatabase(dir));
      writeFileSync(join(dir, 'glewlwyd.conf'), configText(dir, port, externalUrl));
      server = spawnWatched(dir, port);
      await server.ready;
      return server;
    } catch (error) {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
      if (attempt < 3 && /Failed to bind to port/.test(server?.log() ?? '')) continue;
      throw error;
    }
  }
}

// No use_secure_connection line: setting it false without certificate paths makes Glewlwyd exit.
function configText(dir, port, externalUrl) {
  return `port=${port}
bind_address="127.0.0.1"
external_url="${externalUrl}"
login_url="login.html"
api_prefix="api"
log_mode="console"
log_level="INFO"
cookie_secure=0
session_key="GLEWLWYD2_SESSION_ID"
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "${join(dir, 'glewlwyd.db')}"; };
`;
}

/**
 * Runs Glewlwyd under a shell that waits for our end of its stdin to close, then stops Glewlwyd
 * and removes its directory: on stop(), and also when this process dies by any signal, so a
 * killed test run leaves nothing behind. Only Glewlwyd keeps the stdout/stderr pipes, so their end
 * tells that it exited.
 */
function spawnWatched(dir, port) {
  const watchdog =
    'glewlwyd -c "$1/glewlwyd.conf" </dev/null & g=$!; exec >/dev/null 2>&1; cat >/dev/null; kill $g; wait $g; rm -rf "$1"';
  const child = spawn('sh', ['-c', watchdog, 'sh', dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin.on('error', () => {}); // EPIPE once the shell is gone: stop() is then done anyway
  let log = '';
  const keep = (chunk) => (log = (log + chunk).slice(-64 * 1024));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const ended = Promise.all([once(child.stdout, 'close'), once(child.stderr, 'close')]);
  const closed = once(child, 'close');
  const ready = Promise.race([
    waitForHttp(port, ended),
    ended.then(() => Promise.reject(new Error('glewlwyd exited while starting'))),
  ]).catch((error) => Promise.reject(new Error(failure(error.message, log))));
  let stopping;
  return {
    port,
    dir,
    ready,
    log: () => log,
    stop: () => (stopping ??= stopChild(child, closed)),
  };
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

async function stopChild(child, closed) {
  child.stdin.end();
  // A Glewlwyd that ignores SIGTERM: the whole process group, while the shell still holds it.
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }, STOP_TIMEOUT_MS);
  await closed;
  clearTimeout(timer);
}

/** Resolves once Glewlwyd answers HTTP (it logs "started" before it has bound its port). */
async function waitForHttp(port, ended) {
  let exited = false;
  ended.then(() => (exited = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!exited) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/api/`)).arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`glewlwyd did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await new Promise(() => {}); // its exit is reported by the other side of the race
}

function failure(what, log) {
  const hint = /glewlwyd: (not found|No such file)/.test(log)
    ? ' (is the Debian package glewlwyd installed?)'
    : '';
  return `${what}${hint}; its log ends:\n${log.trim().split('\n').slice(-15).join('\n')}`;
}

// The package's schema and initial data (admin/password): loaded with sqlite3 once per test process,
// then kept in memory and written out for each start.
const SCHEMAS = [
  '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3',
  '/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz',
];
let template;

function templateDatabase(dir) {
  template ??= new Promise((resolve, reject) => {
    const schema = SCHEMAS.find((path) => existsSync(path));
    if (!schema)
      throw new Error(
        `glewlwyd's sqlite3 schema was not found (${SCHEMAS.join(', ')}): install the Debian package glewlwyd`,
      );
    const sql = schema.endsWith('.gz') ? gunzipSync(readFileSync(schema)) : readFileSync(schema);
    const path = join(dir, 'template.db');
    const sqlite = spawn('sqlite3', ['-bail', path], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    sqlite.stderr.on('data', (d) => (stderr += d));
    sqlite.on('error', (error) =>
      reject(new Error(`cannot run sqlite3 (Debian package sqlite3): ${error.message}`)),
    );
    sqlite.on('close', (code) => {
      if (code !== 0) return reject(new Error(`sqlite3 could not load ${schema}: ${stderr}`));
      resolve(readFileSync(path));
      rmSync(path);
    });
    sqlite.stdin.end(sql);
  });
  return template;
}
