// The JSON-RPC protocol at its edge (README.md, "Protocol"), over the real socket with raw bytes: what a broken,
// hostile or merely clumsy client sends, and that the daemon answers correctly and keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeSandbox, startForeground } from './support/harness.mjs';
import {
  loginViaRpc,
  makeIsolatedSandbox,
  rawConnect,
  sleep,
  withSandbox,
} from './support/reliability.mjs';

/** Resolves true once the connection is closed, false if it is still open after `ms`. */
const closedWithin = (conn, ms) => Promise.race([conn.closed, sleep(ms).then(() => false)]);

const request = (id, method, params) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params === undefined ? {} : { params }),
});

test(
  'protocol: bad input gets the right JSON-RPC error and the agent keeps serving',
  { timeout: 60_000 },
  async (t) => {
    // No D-Bus needed here: no login, no store use.
    const sb = await makeSandbox({ env: { DBUS_SESSION_BUS_ADDRESS: undefined } });
    let agent;
    try {
      agent = await startForeground(sb);

      const conn = await rawConnect(sb.socketPath);
      let reply;

      await t.test('the socket file is 0600 and its directory 0700', async () => {
        assert.equal(statSync(sb.socketPath).mode & 0o777, 0o600, 'socket mode');
        assert.ok(statSync(sb.socketPath).isSocket());
        assert.equal(statSync(dirname(sb.socketPath)).mode & 0o777, 0o700, 'socket directory mode');
      });

      await t.test(
        'invalid JSON: -32700 with id null, and the connection stays open for the next request',
        async () => {
          for (const garbage of [
            '{not json',
            '{"jsonrpc":"2.0","method":"agent.status","id":1',
            '\u0000\u0001\u00ff',
            'undefined',
          ]) {
            const reply = await conn.call(garbage);
            assert.equal(reply.jsonrpc, '2.0');
            assert.equal(reply.id, null);
            assert.equal(reply.error?.code, -32700, `parse error for ${JSON.stringify(garbage)}`);
          }
          reply = await conn.call(request(1, 'agent.status', {}));
          assert.equal(reply.id, 1);
          assert.equal(
            reply.result?.pid,
            agent.child.pid,
            'a valid request after parse errors is answered on the same connection',
          );
        },
      );

      await t.test(
        'valid JSON that is not a JSON-RPC request: -32600, connection still open',
        async () => {
          for (const notRpc of [
            { hello: 'world' },
            { jsonrpc: '1.0', id: 7, method: 'agent.status' },
            { id: 8, method: 'agent.status' },
            { jsonrpc: '2.0', id: 9 },
            { jsonrpc: '2.0', id: 10, method: 5 },
            { jsonrpc: '2.0', id: { not: 'an id' }, method: 'agent.status' },
            { jsonrpc: '2.0', id: 11, method: 'agent.status', result: 1 },
            42,
            0,
            false,
            '',
            'a string',
            null,
            [],
          ]) {
            const r = await conn.call(JSON.stringify(notRpc));
            assert.equal(
              r.error?.code,
              -32600,
              `invalid request for ${JSON.stringify(notRpc)}: got ${JSON.stringify(r)}`,
            );
            const echoed = typeof notRpc?.id === 'number' ? notRpc.id : null;
            assert.equal(r.id, echoed, `id of the answer to ${JSON.stringify(notRpc)}`);
          }
        },
      );

      await t.test(
        'batches: an array of answers, one per request, even when an entry is not an object',
        async () => {
          const batch = await conn.call(
            JSON.stringify([
              null,
              1,
              request('b1', 'agent.status'),
              request('b2', 'nope'),
              { jsonrpc: '2.0', method: 'x' },
            ]),
          );
          assert.ok(
            Array.isArray(batch),
            `a batch is answered with an array: ${JSON.stringify(batch)}`,
          );
          assert.deepEqual(
            batch.map((r) => [r.id, r.error?.code ?? 'ok']),
            [
              [null, -32600],
              [null, -32600],
              ['b1', 'ok'],
              ['b2', -32601],
            ],
          );
          reply = await conn.call(request(2, 'agent.status'));
          assert.equal(reply.id, 2);
          assert.ok(reply.result, 'still served after invalid requests');
        },
      );

      await t.test('unknown method: -32601, the id echoed, connection open', async () => {
        for (const method of ['no.such.method', '__proto__', 'constructor', 'toString']) {
          const r = await conn.call(request(`m-${method}`, method, {}));
          assert.equal(r.id, `m-${method}`);
          assert.equal(r.error?.code, -32601, `method not found for ${method}`);
        }
        reply = await conn.call(request(3, 'profiles.list', {}));
        assert.deepEqual(
          reply.result?.map((p) => p.name),
          ['local'],
        );
      });

      await t.test(
        'wrong params: -32602, reason INVALID_PARAMS, and the message names the field',
        async () => {
          const invalid = [
            ['token.get', 5, /params must be an object/],
            ['token.get', [], /params must be an object/],
            ['token.get', 'profile=local', /params must be an object/],
            ['token.get', { bogus: 1 }, /unknown param "bogus"/],
            ['token.get', { min_valid: '60' }, /"min_valid" must be a number/],
            ['token.get', { min_valid: -1 }, /"min_valid" must be a number/],
            ['token.get', { kind: 'foo' }, /"kind" must be one of auto, access, id/],
            ['token.get', { profile: '' }, /"profile" must be a non-empty string/],
            ['token.get', { profile: 5 }, /"profile" must be a non-empty string/],
            ['token.get', { scope: ['openid'] }, /"scope" must be a non-empty string/],
            ['login.start', { flow: 'implicit' }, /"flow" must be one of pkce, device/],
            ['login.wait', {}, /"login_id" is required/],
            ['login.wait', { login_id: 'x', timeout: 'soon' }, /"timeout" must be a number/],
            ['logout', { all: 'yes' }, /"all" must be true or false/],
            ['agent.status', { verbose: true }, /unknown param "verbose"/],
            ['agent.shutdown', { now: true }, /unknown param "now"/],
          ];
          let id = 100;
          for (const [method, params, says] of invalid) {
            const r = await conn.call(request(++id, method, params));
            const what = `${method} ${JSON.stringify(params)}`;
            assert.equal(r.id, id, what);
            assert.equal(r.error?.code, -32602, `${what}: ${JSON.stringify(r)}`);
            assert.equal(r.error?.data?.reason, 'INVALID_PARAMS', what);
            assert.match(r.error.message, says, what);
          }
        },
      );

      await t.test(
        'unknown profile: an agent error with reason UNKNOWN_PROFILE naming the configured ones',
        async () => {
          reply = await conn.call(request(200, 'token.get', { profile: 'nope' }));
          assert.equal(reply.error?.data?.reason, 'UNKNOWN_PROFILE');
          assert.match(reply.error.message, /no profile named nope: configured profiles are local/);
          reply = await conn.call(request(201, 'login.start', { profile: 'nope' }));
          assert.equal(reply.error?.data?.reason, 'UNKNOWN_PROFILE');
        },
      );

      await t.test(
        'notifications (no id) get no answer, even when they fail; the next request is answered',
        async () => {
          await conn.send(JSON.stringify({ jsonrpc: '2.0', method: 'no.such.method' }) + '\n');
          await conn.send(
            JSON.stringify({ jsonrpc: '2.0', method: 'token.get', params: 5 }) + '\n',
          );
          reply = await conn.call(request(202, 'agent.status'));
          assert.equal(reply.id, 202, 'notifications produced no reply lines before this one');
        },
      );

      await t.test('blank lines and CRLF endings are tolerated', async () => {
        await conn.send('\n\r\n');
        reply = await conn.call(JSON.stringify(request(203, 'agent.status')) + '\r');
        assert.equal(reply.id, 203);
      });

      await t.test(
        'pipelining: 300 requests in one write, every one answered once with its own id',
        async () => {
          const ids = Array.from({ length: 300 }, (_, i) => `p${i}`);
          await conn.send(
            ids
              .map(
                (pid, i) =>
                  JSON.stringify(
                    request(
                      pid,
                      i % 3 === 0 ? 'profiles.list' : i % 3 === 1 ? 'agent.status' : 'token.get',
                      i % 3 === 2 ? { kind: 'foo' } : {},
                    ),
                  ) + '\n',
              )
              .join(''),
          );
          const answered = new Map();
          for (let i = 0; i < ids.length; i++) {
            const r = await conn.next();
            assert.ok(!answered.has(r.id), `one answer per id (${r.id})`);
            answered.set(r.id, r);
          }
          assert.deepEqual([...answered.keys()].sort(), [...ids].sort());
          for (const [i, pid] of ids.entries()) {
            const r = answered.get(pid);
            if (i % 3 === 0) assert.equal(r.result?.[0]?.name, 'local', pid);
            if (i % 3 === 1) assert.equal(r.result?.pid, agent.child.pid, pid);
            if (i % 3 === 2) assert.equal(r.error?.code, -32602, pid);
          }
        },
      );

      await t.test(
        'a frame written in pieces, with pauses, split inside a multi-byte character: one answer',
        async () => {
          const frame = Buffer.from(
            JSON.stringify(request('split', 'token.get', { profile: 'zürich-€' })) + '\n',
            'utf8',
          );
          const cut = frame.indexOf(Buffer.from('€')) + 1; // inside the 3-byte euro sign
          await conn.send(frame.subarray(0, 10));
          await sleep(150);
          assert.equal(conn.lines.length, 0, 'no answer to half a frame');
          await conn.send(frame.subarray(10, cut));
          await sleep(150);
          assert.equal(conn.lines.length, 0);
          await conn.send(frame.subarray(cut));
          reply = await conn.next();
          assert.equal(reply.id, 'split');
          assert.equal(reply.error?.data?.reason, 'UNKNOWN_PROFILE');
          assert.match(
            reply.error.message,
            /no profile named zürich-€/,
            'the characters survived the split',
          );
        },
      );

      await t.test(
        'two requests where the second is cut: the first is answered now, the second once completed',
        async () => {
          const [a, b] = [request('a', 'agent.status'), request('b', 'profiles.list')].map((m) =>
            JSON.stringify(m),
          );
          await conn.send(`${a}\n${b.slice(0, 20)}`);
          assert.equal((await conn.next()).id, 'a');
          await sleep(100);
          await conn.send(`${b.slice(20)}\n`);
          assert.equal((await conn.next()).id, 'b');
        },
      );

      await t.test(
        'a line of exactly 64 KiB is still read (and rejected as a request, not as a frame)',
        async () => {
          const big = JSON.stringify({
            jsonrpc: '2.0',
            id: 'big',
            method: 'token.get',
            params: { scope: '' },
          });
          const padded = big.replace(
            '"scope":""',
            `"scope":"${'s'.repeat(64 * 1024 - big.length)}"`,
          );
          assert.equal(Buffer.byteLength(padded), 64 * 1024);
          reply = await conn.call(padded);
          assert.equal(reply.id, 'big');
          assert.equal(reply.error?.code, -32602);
          assert.equal(await closedWithin(conn, 100), false, 'a 64 KiB line is allowed');
        },
      );

      await t.test('a line over 64 KiB closes that connection, and only that one', async () => {
        const flood = await rawConnect(sb.socketPath);
        await flood.write(request('x', 'agent.status').id + 'y'.repeat(64 * 1024 + 1));
        assert.equal(
          await closedWithin(flood, 3000),
          true,
          'connection closed after a line over 64 KiB',
        );
        // ...also when it arrives in small pieces, one over the cap with its newline.
        const trickle = await rawConnect(sb.socketPath);
        const long =
          JSON.stringify(request('long', 'token.get', { scope: 'x'.repeat(64 * 1024) })) + '\n';
        for (let off = 0; off < long.length && !trickle.isClosed(); off += 8192) {
          await trickle.write(long.slice(off, off + 8192));
        }
        assert.equal(
          await closedWithin(trickle, 3000),
          true,
          'connection closed after a long trickled line',
        );
        await assert.rejects(trickle.next(200), /closed/, 'the oversized request was not answered');

        // ...while the other connection is untouched.
        reply = await conn.call(request(300, 'agent.status'));
        assert.equal(reply.id, 300, 'the first connection still works after another was cut off');
        conn.close();
      });

      await t.test(
        'a client that connects and vanishes, or half-closes right after a request',
        async () => {
          (await rawConnect(sb.socketPath)).close();
          const half = await rawConnect(sb.socketPath);
          half.socket.end(JSON.stringify(request('half', 'agent.status')) + '\n');
          await half.closed;
          assert.equal(
            half.lines.length,
            1,
            'the half-closed client got its answer before the end',
          );
          assert.equal(JSON.parse(half.lines[0]).result?.pid, agent.child.pid);
        },
      );

      await t.test('after all this, a new connection is served as on the first day', async () => {
        const fresh = await rawConnect(sb.socketPath);
        reply = await fresh.call(request('final', 'agent.status', {}));
        assert.equal(reply.result?.pid, agent.child.pid);
        assert.equal(reply.result?.profiles?.[0]?.name, 'local');
        fresh.close();
        assert.equal(agent.child.exitCode, null, 'the agent is still running');
        assert.doesNotMatch(
          agent.stderr(),
          /"level":(50|60)/,
          'no error or fatal in the agent log',
        );
      });
    } finally {
      if (agent && agent.child.exitCode === null) {
        agent.child.kill('SIGTERM');
        await new Promise((r) => agent.child.once('exit', r));
      }
      await sb.close();
    }
  },
);

test(
  'protocol: a client that shuts down its sending side still gets every answer, one that waits for a refresh too',
  { timeout: 60_000 },
  async (t) => {
    const sb = await makeIsolatedSandbox({
      profile: { store: 'memory' },
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    let agent;
    await withSandbox(
      sb,
      t,
      async () => {
        agent = await startForeground(sb);
        await loginViaRpc(sb);
        const refreshesBefore = sb.provider.stats.grants.refresh_token ?? 0;
        // As `nc -N -U` sends: the requests, then shutdown(SHUT_WR). min_valid of the token's whole lifetime makes the first
        // one wait for a refresh at the provider; the second is answered at once.
        const conn = await rawConnect(sb.socketPath);
        conn.socket.end(
          JSON.stringify(request('refreshed', 'token.get', { min_valid: 3600 })) +
            '\n' +
            JSON.stringify(request('cached', 'token.get', {})) +
            '\n',
        );
        assert.equal(
          await conn.waitLines(2, 20_000),
          true,
          `both answered before the end: ${JSON.stringify(conn.lines)}`,
        );
        const replies = Object.fromEntries(
          conn.lines.map((l) => JSON.parse(l)).map((r) => [r.id, r]),
        );
        for (const id of ['refreshed', 'cached']) {
          assert.match(
            replies[id].result?.token ?? '',
            /^[\w-]+\.[\w-]+\.[\w-]+$/,
            `${id}: ${JSON.stringify(replies[id].error)}`,
          );
          sb.rememberSecret(replies[id].result.token);
        }
        assert.equal(
          (sb.provider.stats.grants.refresh_token ?? 0) - refreshesBefore,
          1,
          'the first answer did wait for a refresh',
        );
        assert.equal(await closedWithin(conn, 5000), true, 'then the agent ends the connection');
      },
      async () => {
        if (agent && agent.child.exitCode === null) {
          agent.child.kill('SIGTERM');
          await new Promise((r) => agent.child.once('exit', r));
        }
      },
    );
  },
);
