// The socket server in process (dist/daemon/socketServer.js) with a small method table of its own:
// framing, half-closed clients, error envelopes and the error type rebuilt by the one client, over
// a real Unix socket. What the whole daemon does with the same bytes: test/protocol.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketServer } from '../dist/daemon/socketServer.js';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { AgentError } from '../dist/rpc/jsonRpc.js';
import { rawConnect, sleep } from './support/reliability.mjs';

const request = (id, method, params) => ({
  jsonrpc: '2.0',
  id,
  method,
  ...(params === undefined ? {} : { params }),
});
const line = (message) => JSON.stringify(message) + '\n';

/** Handlers that answer now, later, or fail in each way a real one can. */
const METHODS = {
  'now.echo': (params) => params ?? null,
  'later.echo': (params) => sleep(params?.ms ?? 50).then(() => params),
  'now.nothing': () => undefined,
  'now.agentError': () => {
    throw new AgentError(
      'LOGIN_REQUIRED',
      'not logged in to profile p: run `kms-agent login --profile p`',
    );
  },
  'now.badParams': () => {
    throw new AgentError('INVALID_PARAMS', 'now.badParams: "x" must be a number');
  },
  'later.agentError': () =>
    sleep(20).then(() => Promise.reject(new AgentError('PROVIDER_UNREACHABLE', 'provider down'))),
  'now.bug': () => {
    throw new TypeError('boom');
  },
  /** Waits `ms`, unless the client hangs up first; answers whether it did. */
  'later.watched': (params, connection) =>
    new Promise((resolve) => {
      let hungUp = false;
      connection.onClose(() => {
        hungUp = true;
        hangUps.push(params.tag);
      });
      setTimeout(() => resolve({ hungUp }), params.ms);
    }),
};
/** The tags of the `later.watched` calls whose client hung up. */
const hangUps = [];

/** A server on a fresh socket; `logged` collects what it logged, by level. */
async function withServer(body) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-server-'));
  const logged = { info: [], warn: [], error: [] };
  const log = Object.fromEntries(
    Object.keys(logged).map((level) => [
      level,
      (...args) =>
        logged[level].push(
          args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '),
        ),
    ]),
  );
  const server = new SocketServer(join(dir, 'run', 'agent.sock'), METHODS, log);
  await server.listen({});
  try {
    await body(server.socketPath, logged);
  } finally {
    await server.close(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves true once the connection is closed, false if it is still open after `ms`. */
const closedWithin = (conn, ms) => Promise.race([conn.closed, sleep(ms).then(() => false)]);

test('socket server: framing', async (t) => {
  await withServer(async (socketPath, logged) => {
    const conn = await rawConnect(socketPath);
    await t.test(
      'a line in pieces, cut inside a multi-byte character, is one request',
      async () => {
        const frame = Buffer.from(line(request('split', 'now.echo', { city: 'zürich-€' })));
        const cut = frame.indexOf(Buffer.from('€')) + 1;
        await conn.send(frame.subarray(0, 7));
        await sleep(50);
        await conn.send(frame.subarray(7, cut));
        await sleep(50);
        assert.equal(conn.lines.length, 0, 'no answer to part of a line');
        await conn.send(frame.subarray(cut));
        assert.deepEqual(await conn.next(), {
          jsonrpc: '2.0',
          id: 'split',
          result: { city: 'zürich-€' },
        });
      },
    );
    await t.test(
      'several lines in one write are answered in order; blank lines and CRLF are tolerated',
      async () => {
        await conn.send(
          `${line(request(1, 'now.echo', 1))}\n\r\n${JSON.stringify(request(2, 'now.echo', 2))}\r\n${line(request(3, 'now.nothing'))}`,
        );
        assert.deepEqual(
          [await conn.next(), await conn.next(), await conn.next()].map((r) => [r.id, r.result]),
          [
            [1, 1],
            [2, 2],
            [3, null],
          ],
        );
      },
    );
    await t.test(
      'a line of exactly 64 KiB is read; one byte more closes that connection only',
      async () => {
        const big = JSON.stringify(request('big', 'now.echo', { pad: '' }));
        const exact = big.replace('"pad":""', `"pad":"${'p'.repeat(64 * 1024 - big.length)}"`);
        assert.equal(Buffer.byteLength(exact), 64 * 1024);
        assert.equal((await conn.call(exact)).id, 'big');
        const over = await rawConnect(socketPath);
        await over.write('x'.repeat(64 * 1024 + 1));
        assert.equal(
          await closedWithin(over, 3000),
          true,
          'closed after 64 KiB + 1 without a newline',
        );
        const trickle = await rawConnect(socketPath);
        const long = exact.replace('"pad":"', '"pad":"p') + '\n';
        for (let off = 0; off < long.length && !trickle.isClosed(); off += 8192)
          await trickle.write(long.slice(off, off + 8192));
        assert.equal(
          await closedWithin(trickle, 3000),
          true,
          'closed after a trickled line over the cap',
        );
        assert.equal(trickle.lines.length, 0, 'never answered');
        assert.deepEqual(
          (await conn.call(request('after', 'now.echo', 'ok'))).result,
          'ok',
          'the other connection still works',
        );
        assert.equal(logged.warn.filter((w) => /over 64 KiB/.test(w)).length, 2);
      },
    );
    conn.close();
  });
});

test('socket server: a client that shuts down its sending side gets every answer, then the end', async (t) => {
  await withServer(async (socketPath) => {
    await t.test(
      'answers ready now and answers that wait, written before the shutdown',
      async () => {
        const conn = await rawConnect(socketPath);
        conn.socket.end(
          line(request('slow', 'later.echo', { ms: 200 })) +
            line(request('now', 'now.echo', 1)) +
            line(request('fail', 'later.agentError')),
        );
        assert.equal(
          await conn.waitLines(3, 5000),
          true,
          `three answers, got ${JSON.stringify(conn.lines)}`,
        );
        const byId = Object.fromEntries(conn.lines.map((l) => JSON.parse(l)).map((r) => [r.id, r]));
        assert.deepEqual(byId.slow.result, { ms: 200 });
        assert.equal(byId.now.result, 1);
        assert.equal(byId.fail.error.data.reason, 'PROVIDER_UNREACHABLE');
        assert.equal(
          await closedWithin(conn, 3000),
          true,
          'the server ends its side once all is answered',
        );
      },
    );
    await t.test(
      'only a client that closed entirely is a hang-up: its waiting request is cancelled at once',
      async () => {
        const half = await rawConnect(socketPath);
        half.socket.end(line(request('w', 'later.watched', { tag: 'half', ms: 300 })));
        assert.deepEqual(
          (await half.next()).result,
          { hungUp: false },
          'shut down its sending side: still answered',
        );
        const gone = await rawConnect(socketPath);
        await gone.send(line(request('w', 'later.watched', { tag: 'gone', ms: 5000 })));
        await sleep(50);
        gone.close();
        for (let waited = 0; !hangUps.includes('gone') && waited < 2000; waited += 20)
          await sleep(20);
        assert.ok(
          hangUps.includes('gone'),
          "the closed client's request saw the hang-up long before its 5 s",
        );
      },
    );
    await t.test('a batch, and a shutdown with nothing in flight', async () => {
      const conn = await rawConnect(socketPath);
      conn.socket.end(
        JSON.stringify([request('a', 'later.echo', { ms: 100 }), request('b', 'now.echo', 2)]) +
          '\n',
      );
      assert.deepEqual(
        (await conn.next()).map((r) => r.id),
        ['a', 'b'],
      );
      assert.equal(await closedWithin(conn, 3000), true);
      const idle = await rawConnect(socketPath);
      idle.socket.end();
      assert.equal(await closedWithin(idle, 3000), true, 'nothing to answer: ended at once');
    });
  });
});

test('socket server: error envelopes', async (t) => {
  await withServer(async (socketPath, logged) => {
    const conn = await rawConnect(socketPath);
    await t.test('parse error -32700 with id null; the connection stays open', async () => {
      assert.deepEqual(await conn.call('{"jsonrpc":'), {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error' },
      });
      assert.equal((await conn.call(request(1, 'now.echo', 'still'))).result, 'still');
    });
    await t.test('invalid request -32600, its id echoed when it has a valid one', async () => {
      assert.deepEqual(await conn.call(JSON.stringify({ jsonrpc: '2.0', id: 5 })), {
        jsonrpc: '2.0',
        id: 5,
        error: { code: -32600, message: 'Invalid Request' },
      });
      assert.equal(
        (await conn.call(JSON.stringify({ jsonrpc: '2.0', id: {}, method: 'now.echo' }))).id,
        null,
      );
      assert.equal((await conn.call('[]')).error.code, -32600);
    });
    await t.test('unknown method -32601, also for names every object inherits', async () => {
      for (const method of ['nope', '__proto__', 'toString']) {
        assert.deepEqual(await conn.call(request(method, method)), {
          jsonrpc: '2.0',
          id: method,
          error: { code: -32601, message: 'Method not found' },
        });
      }
    });
    await t.test(
      "an AgentError's reason goes in error.data.reason (-32000; -32602 for INVALID_PARAMS)",
      async () => {
        assert.deepEqual((await conn.call(request(2, 'now.agentError'))).error, {
          code: -32000,
          message: 'not logged in to profile p: run `kms-agent login --profile p`',
          data: { reason: 'LOGIN_REQUIRED' },
        });
        assert.deepEqual((await conn.call(request(3, 'now.badParams'))).error, {
          code: -32602,
          message: 'now.badParams: "x" must be a number',
          data: { reason: 'INVALID_PARAMS' },
        });
        assert.deepEqual((await conn.call(request(4, 'later.agentError'))).error, {
          code: -32000,
          message: 'provider down',
          data: { reason: 'PROVIDER_UNREACHABLE' },
        });
      },
    );
    await t.test('any other exception is -32603 without a reason, and logged', async () => {
      assert.deepEqual((await conn.call(request(5, 'now.bug'))).error, {
        code: -32603,
        message: 'internal error: boom',
      });
      assert.equal(logged.error.length, 1);
    });
    await t.test('notifications are run and never answered, even when they fail', async () => {
      await conn.send(
        line({ jsonrpc: '2.0', method: 'now.agentError' }) +
          line({ jsonrpc: '2.0', method: 'nope' }),
      );
      assert.equal(
        (await conn.call(request(6, 'now.echo', 6))).id,
        6,
        'the next line is the next answer',
      );
    });
    conn.close();
  });
});

test('the one error type on both sides: the client rebuilds the AgentError the handler threw', async (t) => {
  await withServer(async (socketPath) => {
    const client = await AgentClient.connect(socketPath);
    try {
      for (const [method, reason, message] of [
        [
          'now.agentError',
          'LOGIN_REQUIRED',
          'not logged in to profile p: run `kms-agent login --profile p`',
        ],
        ['later.agentError', 'PROVIDER_UNREACHABLE', 'provider down'],
        ['now.bug', 'AGENT_FAILED', 'internal error: boom'],
        ['no.such.method', 'AGENT_FAILED', 'Method not found'],
      ]) {
        await t.test(`${method} → ${reason}`, async () => {
          const err = await client.call(method, {}).catch((e) => e);
          assert.ok(err instanceof AgentError, `an AgentError: ${err}`);
          assert.deepEqual([err.reason, err.message], [reason, message]);
        });
      }
      await t.test('pipelined calls on one connection each get their own answer', async () => {
        const calls = Array.from({ length: 300 }, (_, i) =>
          client.call(i % 2 ? 'later.echo' : 'now.echo', { i, ms: 5 }),
        );
        assert.deepEqual(
          (await Promise.all(calls)).map((r) => r.i),
          Array.from({ length: 300 }, (_, i) => i),
        );
      });
    } finally {
      client.close();
    }
  });
});
