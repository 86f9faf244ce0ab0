// Helpers for test/reliability/: raw socket clients, a fault-injecting TCP proxy in front of the
// local provider, a login without the CLI, the daemon's memory, latency figures. Loopback only.
// (Kept out of test/reliability/ so `node --test test/` does not run it as a test file.)
import { connect, createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { deliverCallback, playAuthorization } from '../../dist/demo/browserPlayer.js';
import { makeSandbox, profileToml } from './harness.mjs';
import { freePort } from '../../dist/demo/freePort.js';

export { freePort };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A sandbox whose login listener uses its own free port instead of 17899, so these tests never
 * collide with another agent logging in on the same machine. `profiles(issuer, redirectUrl)`
 * returns the config text; the default is one profile "local" at the sandbox's provider.
 * `provider: null` starts no local provider (the test brings its own).
 */
export async function makeIsolatedSandbox({ provider = {}, profile = {}, profiles, env } = {}) {
  const port = await freePort();
  const redirectUrl = `http://127.0.0.1:${port}/authorization`;
  const sb = await makeSandbox({
    provider: provider === null ? null : { ...provider, redirectUris: [redirectUrl] },
    config: (issuer) =>
      profiles
        ? profiles(issuer, redirectUrl)
        : profileToml('local', issuer, { redirect_url: redirectUrl, ...profile }),
    env,
  });
  sb.redirectUrl = redirectUrl;
  return sb;
}

/**
 * Logs a profile in through the protocol, playing the provider's pages as a browser would:
 * login.start, the provider's dev interactions, the callback to the agent's listener, login.wait.
 * `beforeCallback(started)` runs while the login waits (an attack on its listener, say).
 */
export async function loginViaRpc(
  sb,
  profile,
  { login = 'alice', beforeCallback, waitSeconds = 30 } = {},
) {
  const started = await sb.rpc('login.start', profile ? { profile } : {});
  const waiting = sb.rpc('login.wait', { login_id: started.login_id, timeout: waitSeconds });
  try {
    await beforeCallback?.(started);
  } catch (err) {
    waiting.catch(() => undefined);
    await sb.rpc('login.cancel', { login_id: started.login_id }).catch(() => undefined);
    throw err;
  }
  const callbackUrl = await playAuthorization(started.url, { login });
  sb.rememberSecret(new URL(callbackUrl).searchParams.get('code'));
  const delivered = await deliverCallback(
    callbackUrl.replace('http://localhost:', 'http://127.0.0.1:'),
  );
  if (delivered.status !== 200) throw new Error(`callback answered ${delivered.status}`);
  return waiting;
}

/** Resident set size of a process, in KiB (VmRSS of /proc/PID/status). */
export function rssKiB(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

/** CPU time a process has used (user + system), in seconds (fields 14 and 15 of /proc/PID/stat). */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * A raw connection: write bytes, read whole reply lines, see when the agent hangs up. `read: false`
 * never reads (a client that does not take its replies).
 */
export function rawConnect(socketPath, { read = true } = {}) {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const lines = [];
    const waiters = [];
    let buffered = '';
    let replyBytes = 0;
    let resolveClosed;
    const closed = new Promise((r) => (resolveClosed = r));
    const wake = () => waiters.splice(0).forEach((w) => w());
    if (!read) socket.pause();
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      replyBytes += chunk.length;
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      resolveClosed(true);
      wake();
    });
    socket.once('connect', () => {
      const conn = {
        socket,
        closed,
        lines,
        replyBytes: () => replyBytes,
        isClosed: () => socket.destroyed || socket.readableEnded,
        /** Resolves once the bytes are handed to the kernel (or the connection is gone). */
        write: (data) =>
          new Promise((res) =>
            socket.destroyed ? res(false) : socket.write(data, (err) => res(!err)),
          ),
        /** Waits until `count` reply lines arrived; false if the connection closed or time ran out first. */
        async waitLines(count, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          while (lines.length < count) {
            if (socket.destroyed || socket.readableEnded) return false;
            const left = deadline - Date.now();
            if (left <= 0) return false;
            await new Promise((r) => {
              const timer = setTimeout(r, left);
              waiters.push(() => {
                clearTimeout(timer);
                r();
              });
            });
          }
          return true;
        },
        /** Like write, but a write that fails is an error: for tests where every byte must arrive. */
        async send(data) {
          if (!(await conn.write(data))) throw new Error('could not write to the agent');
        },
        /** The next reply line, parsed; fails if none comes in time or the agent hangs up. */
        async next(timeoutMs = 5000) {
          if (!(await conn.waitLines(1, timeoutMs)))
            throw new Error(
              conn.isClosed() ? 'the agent closed the connection' : 'no reply in time',
            );
          return JSON.parse(lines.shift());
        },
        /** Sends one request line and returns its reply. */
        async call(message) {
          await conn.send((typeof message === 'string' ? message : JSON.stringify(message)) + '\n');
          return conn.next();
        },
        close: () => socket.destroy(),
      };
      resolve(conn);
    });
    socket.once('error', reject);
  });
}

/**
 * A TCP proxy on 127.0.0.1 in front of the provider, whose behaviour a test switches at any time:
 * - 'forward': pass bytes both ways;
 * - 'refuse': the port is closed (connection refused), reopened on the same port by the next mode;
 * - 'hang': accept and read the request, never answer;
 * - 'trickle': forward the request, send the provider's answer one byte every `trickleMs`;
 * - { raw }: answer every request with these bytes (an HTTP response the test wrote), then close.
 * `faults` counts connections that met a fault (anything but 'forward').
 */
export async function startFaultProxy(target, { trickleMs = 200 } = {}) {
  let mode = 'forward';
  let server;
  let port = 0;
  const sockets = new Set();
  const stats = { connections: 0, faults: 0, byMode: {} };

  const handle = (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    stats.connections++;
    const current = mode;
    const label = typeof current === 'string' ? current : 'raw';
    stats.byMode[label] = (stats.byMode[label] ?? 0) + 1;
    if (current !== 'forward') stats.faults++;
    if (current === 'hang') {
      client.on('data', () => undefined);
      return;
    }
    if (typeof current === 'object') {
      let seen = '';
      client.on('data', (chunk) => {
        seen += chunk;
        if (seen.includes('\r\n\r\n')) client.end(current.raw);
      });
      return;
    }
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (current !== 'trickle') client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    if (current === 'forward') {
      upstream.pipe(client);
      return;
    }
    // trickle: queue the answer, hand it out byte by byte until the client gives up.
    const queue = [];
    upstream.on('data', (chunk) => queue.push(...chunk));
    const timer = setInterval(() => {
      if (client.destroyed) return clearInterval(timer);
      if (queue.length > 0) client.write(Buffer.from([queue.shift()]));
    }, trickleMs);
    client.on('close', () => clearInterval(timer));
  };

  const listen = () =>
    new Promise((resolve, reject) => {
      server = createServer(handle);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = server.address().port;
        resolve();
      });
    });
  const stop = () =>
    new Promise((resolve) => {
      if (!server) return resolve();
      const s = server;
      server = undefined;
      s.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    stats,
    get mode() {
      return mode;
    },
    async setMode(next) {
      if (next === 'refuse') {
        mode = next;
        stats.faults++;
        stats.byMode.refuse = (stats.byMode.refuse ?? 0) + 1;
        await stop();
        return;
      }
      // Connections of the previous mode (a hung or trickling answer) are cut when the mode changes.
      for (const socket of sockets) socket.destroy();
      mode = next;
      if (!server) await listen();
    },
    close: stop,
  };
}

/** An HTTP/1.1 response as raw bytes, for the proxy's { raw } mode. */
export function httpResponse(status, body, contentType = 'application/json') {
  const bytes = Buffer.from(body, 'utf8');
  return `HTTP/1.1 ${status} X\r\ncontent-type: ${contentType}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n${body}`;
}

/** Waits for a child process to exit and its output to be read to the end (bounded). */
export function exited(child, ms = 10_000) {
  const outputRead = [child.stdout, child.stderr].every((stream) => !stream || stream.closed);
  if ((child.exitCode !== null || child.signalCode !== null) && outputRead)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pid ${child.pid} did not exit within ${ms} ms`)),
      ms,
    );
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Stops a foreground agent started by the test (SIGTERM, then SIGKILL if it lingers). */
export async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await exited(child, 8000);
  } catch {
    child.kill('SIGKILL');
    await exited(child, 5000);
  }
}

/**
 * Runs a test's body, then `cleanup` (stopping what the body started) and the sandbox's close. The
 * close's own checks (secrets in the logs, an agent left running) fail the test, unless the body
 * failed already: its error is the one to read, and the close's becomes a diagnostic.
 */
export async function withSandbox(sb, t, body, cleanup = async () => undefined) {
  let failed = false;
  try {
    return await body();
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await cleanup();
    try {
      await sb.close();
    } catch (err) {
      // A failed close matters only when the body passed: its own error is the one to see.
      // eslint-disable-next-line no-unsafe-finally
      if (!failed) throw err;
      t.diagnostic(`closing the sandbox after the failure: ${err.message}`);
    }
  }
}

/** Times an async call; resolves with { ms, value } or { ms, error }. */
export async function timed(fn) {
  const started = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}
