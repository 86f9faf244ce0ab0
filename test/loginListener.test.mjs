// The login's loopback listener (docs/SECURITY.md): loopback only, only its path and its state, one
// use, closed after use, denial and timeout, with the real local provider and the real daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { deliverCallback, playAuthorization } from '../dist/demo/browserPlayer.js';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { freePort } from '../dist/demo/freePort.js';
import { makeSandbox, profileToml, startForeground } from './support/harness.mjs';

const PORT = 17899;
const LISTENER = `http://127.0.0.1:${PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET with a bound; resolves with {status, body} or {refused: true} when nothing listens. */
async function get(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
    return { status: response.status, body: await response.text(), headers: response.headers };
  } catch (err) {
    const code = err?.cause?.code;
    if (code === 'ECONNREFUSED') return { refused: true };
    // A connection that lands in the backlog while the listening socket closes is reset.
    if (code === 'ECONNRESET') return { reset: true };
    throw err;
  }
}

/** Listening TCP sockets on `port`, from /proc/net/tcp and tcp6, as "address:port". */
function listenersOn(port) {
  const found = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ]) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A') continue; // LISTEN
      const [hexAddr, hexPort] = local.split(':');
      if (parseInt(hexPort, 16) !== port) continue;
      found.push(`${v6 ? ipv6(hexAddr) : ipv4(hexAddr)}:${port}`);
    }
  }
  return found.sort();
}
// /proc/net prints addresses as little-endian 32-bit words.
const ipv4 = (hex) => Buffer.from(hex, 'hex').reverse().join('.');
function ipv6(hex) {
  const bytes = Buffer.concat(hex.match(/.{8}/g).map((word) => Buffer.from(word, 'hex').reverse()));
  if (bytes.every((b, i) => (i === 15 ? b === 1 : b === 0))) return '[::1]';
  if (bytes.every((b) => b === 0)) return '[::]';
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `[::ffff:${[...bytes.subarray(12)].join('.')}]`;
  return `[${bytes.toString('hex').match(/.{4}/g).join(':')}]`;
}

async function waitUntilRefused(url, ms = 2000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await get(url);
    if (r.refused) return r;
    if (!r.reset) assert.notEqual(r.status, 200, 'a second delivery is never accepted');
    if (Date.now() > deadline) return r;
    await sleep(25);
  }
}

/** The agent of the previous test may still be releasing the port for a moment after `stop`. */
async function portFree() {
  for (let i = 0; i < 60 && listenersOn(PORT).length > 0; i++) await sleep(50);
  assert.deepEqual(
    listenersOn(PORT),
    [],
    `port ${PORT} is free before the login (something else listens on it)`,
  );
}

const pendingOf = async (sb) =>
  (await sb.rpc('agent.status', {})).profiles.find((p) => p.name === 'local').login_pending ===
  true;

test(
  'listener: loopback only, its path and state only, one use, then closed',
  { timeout: 60_000 },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    let agent;
    try {
      agent = await startForeground(sb);
      await portFree();
      const started = await sb.rpc('login.start', {});
      assert.equal(started.profile, 'local');
      const auth = new URL(started.url);
      assert.equal(auth.searchParams.get('redirect_uri'), `http://localhost:${PORT}/authorization`);
      assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
      const state = auth.searchParams.get('state');
      assert.ok(state && state.length >= 16, 'a real state');
      assert.equal(await pendingOf(sb), true);

      // Loopback only: IPv4 and IPv6 loopback, no wildcard or external address.
      const bound = listenersOn(PORT);
      assert.deepEqual(
        bound,
        [`127.0.0.1:${PORT}`, `[::1]:${PORT}`],
        `listening sockets on port ${PORT}: ${bound.join(', ')}`,
      );
      // Reachable through both; `localhost` resolves to one of them.
      assert.equal((await get(`http://[::1]:${PORT}/`)).status, 404);

      // Any other path, or another method: 404, and the login goes on.
      for (const path of [
        '/',
        '/favicon.ico',
        '/authorization/',
        '/authorizationX',
        '/AUTHORIZATION',
        '/../authorization/x',
      ]) {
        const r = await get(`${LISTENER}${path}?state=${state}&code=x`);
        assert.equal(r.status, 404, `${path}: ${r.status}`);
        assert.doesNotMatch(r.body, /Logged in/);
      }
      const post = await fetch(`${LISTENER}/authorization?state=${state}&code=x`, {
        method: 'POST',
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(post.status, 404, 'only GET');
      await post.body?.cancel();

      // The right path with a wrong or missing state: 400, and the login is still pending.
      for (const query of [
        '?state=forged&code=abc',
        '?code=abc',
        `?state=${state}x&code=abc`,
        `?state=${state.slice(0, -1)}&code=abc`,
        '?error=access_denied&state=forged',
      ]) {
        const r = await get(`${LISTENER}/authorization${query}`);
        assert.equal(r.status, 400, `${query}: ${r.status}`);
        assert.match(r.body, /state mismatch/);
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      assert.equal(await pendingOf(sb), true, 'still pending after forged callbacks');
      assert.equal(
        sb.provider.stats.grants.authorization_code ?? 0,
        0,
        'no code exchange for a forged callback',
      );

      // The real login: play the provider's pages, deliver the callback the provider redirected to.
      const callbackUrl = await playAuthorization(started.url, { login: 'alice' });
      const callback = new URL(callbackUrl);
      assert.equal(callback.searchParams.get('state'), state);
      sb.rememberSecret(callback.searchParams.get('code'));
      const waiting = sb.rpc('login.wait', { login_id: started.login_id, timeout: 30 });
      // Deliver over 127.0.0.1 (the browser may resolve localhost either way).
      const delivered = await deliverCallback(`${LISTENER}${callback.pathname}${callback.search}`);
      assert.equal(
        delivered.status,
        200,
        `callback page status; body: ${delivered.body.slice(0, 300)}`,
      );
      assert.match(delivered.body, /Logged in/);
      assert.match(delivered.body, /close this tab/);
      assert.doesNotMatch(
        delivered.body,
        new RegExp(callback.searchParams.get('code')),
        'the page does not repeat the code',
      );
      const done = await waiting;
      assert.equal(done.profile, 'local');
      assert.equal(done.subject, 'alice');
      assert.equal(done.email, 'alice@example.com');
      assert.equal(sb.provider.stats.grants.authorization_code, 1);

      // One use: the same callback again gets no answer, the port is closed on both families.
      const replay = await waitUntilRefused(`${LISTENER}${callback.pathname}${callback.search}`);
      assert.equal(
        replay.refused,
        true,
        `the listener is closed after one use (got ${replay.status})`,
      );
      assert.deepEqual(listenersOn(PORT), [], 'nothing listens on the port any more');
      assert.equal(sb.provider.stats.grants.authorization_code, 1, 'the code was exchanged once');
      assert.equal(await pendingOf(sb), false, 'no login shown as pending once it completed');

      // The login is real: a token is served.
      const token = await sb.rpc('token.get', {});
      sb.rememberSecret(token.token);
      assert.ok(token.token.split('.').length === 3);
    } finally {
      if (agent?.child.exitCode === null) {
        agent.child.kill('SIGTERM');
        await new Promise((r) => agent.child.once('exit', r));
      }
      await sb.close();
    }
  },
);

test(
  'listener: a cancelled or replaced login closes its port; the second login still works',
  { timeout: 60_000 },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    try {
      await portFree();
      // Autostart through the CLI (no login), then drive the protocol directly.
      assert.equal((await sb.cli(['token'])).code, 5);
      const first = await sb.rpc('login.start', {});
      // A second login.start for the same profile replaces the first: its state is no longer accepted.
      const second = await sb.rpc('login.start', {});
      assert.notEqual(second.login_id, first.login_id);
      await assert.rejects(
        sb.rpc('login.wait', { login_id: first.login_id, timeout: 5 }),
        (err) => {
          assert.equal(err.reason, 'INVALID_PARAMS', err.message);
          return true;
        },
      );
      const oldCallback = new URL(await playAuthorization(first.url));
      sb.rememberSecret(oldCallback.searchParams.get('code'));
      const stale = await get(`${LISTENER}${oldCallback.pathname}${oldCallback.search}`);
      assert.equal(stale.status, 400, "the replaced login's state is refused");

      // login.cancel frees the port at once.
      assert.deepEqual(await sb.rpc('login.cancel', { login_id: second.login_id }), {
        cancelled: true,
      });
      assert.equal(
        (await waitUntilRefused(`${LISTENER}/authorization`)).refused,
        true,
        'cancel closed the listener',
      );

      // A client hanging up in login.wait (Ctrl-C) cancels its login and frees the port.
      const third = await sb.rpc('login.start', {});
      const client = await AgentClient.connect(sb.socketPath);
      const wait = client.call('login.wait', { login_id: third.login_id }).catch((e) => e);
      await sleep(100);
      client.close();
      await wait;
      assert.equal(
        (await waitUntilRefused(`${LISTENER}/authorization`)).refused,
        true,
        'hang-up closed the listener',
      );

      // And after all that, a normal login through the CLI.
      const r = await sb.login();
      assert.match(r.stdout, /^logged in to profile local as alice@example\.com$/m);
    } finally {
      await sb.close();
    }
  },
);

test(
  'login denied at the provider: exit 3 with a message; the port is freed',
  { timeout: 60_000 },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    try {
      await portFree();
      const r = await sb.cli(['login'], { env: { FAKE_BROWSER_DENY: '1' } });
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /login to profile local was refused by the identity provider \(access_denied/,
      );
      assert.equal(
        (await waitUntilRefused(`${LISTENER}/authorization`)).refused,
        true,
        'listener closed after the denial',
      );
      assert.equal((await sb.cli(['token'])).code, 5, 'still not logged in');

      // Also when played directly: the callback page says it was refused.
      const started = await sb.rpc('login.start', {});
      const waiting = sb.rpc('login.wait', { login_id: started.login_id, timeout: 30 }).then(
        () => assert.fail('a denied login must not succeed'),
        (err) => err,
      );
      const callbackUrl = await playAuthorization(started.url, { deny: true });
      assert.equal(new URL(callbackUrl).searchParams.get('error'), 'access_denied');
      const page = await deliverCallback(
        callbackUrl.replace('http://localhost:', 'http://127.0.0.1:'),
      );
      assert.equal(page.status, 403);
      assert.match(page.body, /Login refused/);
      const err = await waiting;
      assert.equal(err.reason, 'LOGIN_DENIED');
    } finally {
      await sb.close();
    }
  },
);

test(
  'login --timeout 1 with a browser that does nothing: exit 4, the port is freed',
  { timeout: 60_000 },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' }, env: { BROWSER: '/bin/true' } });
    try {
      await portFree();
      const before = Date.now();
      const r = await sb.cli(['login', '--timeout', '1']);
      const took = Date.now() - before;
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /was not completed within 1 s: run `kms-agent login --profile local` again/,
      );
      assert.ok(took < 15_000, `timed out promptly (${took} ms)`);

      // The port is free at once: a new login starts right after, and its listener answers.
      assert.equal(
        (await get(`${LISTENER}/authorization`)).refused,
        true,
        'the timed-out listener is closed',
      );
      const started = await sb.rpc('login.start', {});
      assert.ok(started.login_id);
      const r2 = await get(`${LISTENER}/authorization?state=nope`);
      assert.equal(r2.status, 400, 'the new login listens');
      assert.equal((await sb.rpc('login.cancel', { login_id: started.login_id })).cancelled, true);

      // login.wait's own timeout through the protocol gives LOGIN_TIMEOUT.
      const third = await sb.rpc('login.start', {});
      await assert.rejects(
        sb.rpc('login.wait', { login_id: third.login_id, timeout: 1 }),
        (err) => {
          assert.equal(err.reason, 'LOGIN_TIMEOUT');
          return true;
        },
      );
      assert.equal((await waitUntilRefused(`${LISTENER}/authorization`)).refused, true);
      assert.equal(
        (await sb.rpc('agent.status', {})).profiles[0].login_pending,
        undefined,
        'no login left pending',
      );
    } finally {
      await sb.close();
    }
  },
);

test(
  'login against an unreachable provider: exit 3 (a failed login), saying the provider is unreachable',
  { timeout: 60_000 },
  async () => {
    const closedPort = await freePort();
    const sb = await makeSandbox({
      provider: null,
      config: () => profileToml('local', `http://127.0.0.1:${closedPort}`, { store: 'memory' }),
    });
    try {
      const r = await sb.cli(['login', '--no-browser']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /login to profile local failed: the identity provider is unreachable/);
    } finally {
      await sb.close();
    }
  },
);
