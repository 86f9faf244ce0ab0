// The daemon's HTTP transport to providers (src/provider/boundedFetch.ts), against real HTTP
// servers on loopback: the 1 MiB bound on answers (docs/SECURITY.md), compressed answers, and
// failures that read as fetch's, so that the agent reports an unreachable or hung provider as such.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';

import {
  boundedFetch,
  failedBodyOf,
  MAX_RESPONSE_BYTES,
  ResponseTooLargeError,
} from '../dist/provider/boundedFetch.js';
import { classifyProviderError } from '../dist/provider/providerErrors.js';

let server;
let base;
const seen = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      switch (req.url) {
        case '/token':
          return res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ access_token: 'a', token_type: 'Bearer', echo: body }));
        case '/gzip':
          return res
            .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
            .end(gzipSync(JSON.stringify({ access_token: 'zipped' })));
        case '/declared-huge':
          return res
            .writeHead(200, {
              'content-type': 'application/json',
              'content-length': String(MAX_RESPONSE_BYTES + 1),
            })
            .end();
        case '/streamed-huge': {
          res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length declared
          const chunk = Buffer.alloc(64 * 1024, 'x');
          let sent = 0;
          const more = () => {
            while (sent <= MAX_RESPONSE_BYTES && res.write(chunk)) sent += chunk.length;
            if (sent <= MAX_RESPONSE_BYTES) res.once('drain', more);
            else res.end();
          };
          res.on('error', () => undefined);
          return more();
        }
        case '/refused':
          return res
            .writeHead(401, 'Unauthorized', {
              'content-type': 'application/json',
              'www-authenticate': 'Basic realm="x"',
            })
            .end('{"error":"invalid_client","error_description":"who are you"}');
        case '/hang':
          return undefined; // never answered; close() ends it
        default:
          return res.writeHead(404).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('a form POST goes out as openid-client sends it, and the JSON answer comes back as a Response', async () => {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r t+/=' });
  const response = await boundedFetch(`${base}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      accept: 'application/json',
    },
    body: form,
    redirect: 'manual',
  });
  assert.ok(response instanceof Response);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  const json = await response.json();
  assert.equal(json.echo, form.toString(), 'the body is the form, encoded as fetch encodes it');
  const request = seen.find((r) => r.url === '/token');
  assert.equal(request.method, 'POST');
  assert.equal(
    request.headers['content-length'],
    String(Buffer.byteLength(form.toString())),
    'a length, not chunked: some token endpoints refuse chunked bodies',
  );
  assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8');
});

test('a compressed answer is decoded, as fetch decodes it', async () => {
  const response = await boundedFetch(`${base}/gzip`, { method: 'GET' });
  assert.deepEqual(await response.json(), { access_token: 'zipped' });
  assert.equal(response.headers.get('content-encoding'), null);
});

test('an answer over 1 MiB is refused, whether declared or streamed', async () => {
  for (const path of ['/declared-huge', '/streamed-huge']) {
    const err = await boundedFetch(`${base}${path}`, { method: 'GET' }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err instanceof ResponseTooLargeError, `${path}: ${err}`);
    assert.equal(
      classifyProviderError(err).kind,
      'invalid',
      'an unacceptable answer, not a network problem',
    );
  }
});

test('an error answer keeps its status, headers and body for the error message', async () => {
  const response = await boundedFetch(`${base}/refused`, {
    method: 'POST',
    body: new URLSearchParams({ a: 'b' }),
  });
  assert.equal(response.status, 401);
  assert.equal(response.statusText, 'Unauthorized');
  assert.equal(response.headers.get('www-authenticate'), 'Basic realm="x"');
  assert.match(failedBodyOf(response), /who are you/);
});

test('an unreachable provider fails as fetch does: a TypeError whose cause is the network error', async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address();
  await new Promise((resolve) => closed.close(resolve));
  const err = await boundedFetch(`http://127.0.0.1:${port}/token`, { method: 'GET' }).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof TypeError);
  assert.equal(err.message, 'fetch failed');
  assert.equal(err.cause?.code, 'ECONNREFUSED');
  const failure = classifyProviderError(err);
  assert.equal(failure.kind, 'transient');
  assert.match(failure.detail, /^ECONNREFUSED/);
});

test("a hung provider fails with the abort signal's reason, which the agent reports as timed out", async () => {
  const err = await boundedFetch(`${base}/hang`, {
    method: 'GET',
    signal: AbortSignal.timeout(300),
  }).then(
    () => null,
    (e) => e,
  );
  assert.equal(err?.name, 'TimeoutError');
  assert.deepEqual(classifyProviderError(err), { kind: 'transient', detail: 'timed out' });
});
