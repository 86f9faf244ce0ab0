// What a provider's answer to a refresh means (src/provider/providerErrors.ts), in process:
// the real ProviderClient (openid-client) against a loopback server that answers each way real
// providers and broken networks do. The table is the contract of docs/protocol.md's reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { ProviderClient } from '../dist/provider/providerClient.js';
import { classifyProviderError } from '../dist/provider/providerErrors.js';
import { freePort } from '../dist/demo/freePort.js';
import { unitProfile } from './support/unitProfile.mjs';

/** A token endpoint whose next answer the test sets: [status, body, contentType]. */
async function tokenEndpoint() {
  let answer = [200, '{}', 'application/json'];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body, type] = answer;
      if (status === 'close') return req.socket.destroy();
      res.writeHead(status, type ? { 'Content-Type': type } : {});
      res.end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${server.address().port}/`,
    set: (a) => (answer = a),
    close: () => new Promise((r) => server.close(r)),
  };
}

const json = (status, body) => [status, JSON.stringify(body), 'application/json'];

const CASES = [
  [
    'invalid_grant',
    json(400, { error: 'invalid_grant', error_description: 'grant expired' }),
    'invalid_grant',
    /^invalid_grant: grant expired$/,
  ],
  [
    'a bare 400, empty body (Glewlwyd)',
    [400, '', undefined],
    'rejected',
    /^HTTP 400 from the provider with an empty body$/,
  ],
  [
    'a bare 401 with a text body',
    [401, 'Unauthorized', 'text/plain'],
    'rejected',
    /^HTTP 401 from the provider: Unauthorized$/,
  ],
  ['invalid_client', json(401, { error: 'invalid_client' }), 'rejected', /^invalid_client$/],
  [
    'invalid_scope',
    json(400, { error: 'invalid_scope', error_description: 'nope' }),
    'rejected',
    /^invalid_scope: nope$/,
  ],
  ['access_denied', json(400, { error: 'access_denied' }), 'denied', /^access_denied$/],
  [
    'expired_token (device code)',
    json(400, { error: 'expired_token' }),
    'expired',
    /^expired_token$/,
  ],
  ['429 slow down', json(429, { error: 'slow_down' }), 'transient', /^HTTP 429 slow_down$/],
  [
    '500 with an OAuth body',
    json(500, { error: 'server_error' }),
    'transient',
    /^HTTP 500 from the provider: \{"error":"server_error"\}$/,
  ],
  [
    '503 with an HTML page',
    [503, '<html>maintenance</html>', 'text/html'],
    'transient',
    /^HTTP 503 from the provider: <html>maintenance<\/html>$/,
  ],
  [
    '200 with a captive portal page',
    [200, '<html>log in to the Wi-Fi</html>', 'text/html'],
    'transient',
    /no valid token response/,
  ],
  [
    '200 with truncated JSON',
    [200, '{"access_token": "ab', 'application/json'],
    'transient',
    /no valid token response/,
  ],
  [
    '200 with JSON of the wrong shape',
    json(200, { access_token: 5 }),
    'transient',
    /no valid token response/,
  ],
  [
    'a connection closed without an answer',
    ['close'],
    'transient',
    /other side closed|ECONNRESET|socket/i,
  ],
  [
    'an answer over 1 MiB',
    [200, `{"access_token":"${'a'.repeat(1_100_000)}"}`, 'application/json'],
    'invalid',
    /over 1 MiB and was refused/,
  ],
];

test('providerErrors: each answer to a refresh, classified', async (t) => {
  const endpoint = await tokenEndpoint();
  const provider = new ProviderClient(unitProfile(endpoint.base));
  try {
    for (const [what, answer, kind, detail] of CASES) {
      await t.test(what, async () => {
        endpoint.set(answer);
        const err = await provider.refresh('rt-secret').then(
          () => assert.fail('the refresh succeeded'),
          (e) => e,
        );
        const failure = classifyProviderError(err, ['rt-secret']);
        assert.equal(failure.kind, kind, failure.detail);
        assert.match(failure.detail, detail);
      });
    }
    await t.test('connection refused', async () => {
      const refused = new ProviderClient(unitProfile(`http://127.0.0.1:${await freePort()}/`));
      const failure = classifyProviderError(await refused.refresh('rt').catch((e) => e));
      assert.equal(failure.kind, 'transient');
      assert.match(failure.detail, /^ECONNREFUSED/);
    });
    await t.test(
      'a provider that echoes the refresh token, raw or encoded, is quoted without it',
      async () => {
        const secret = 'rt+/= é%x';
        for (const echoed of [
          secret,
          encodeURIComponent(secret),
          new URLSearchParams({ v: secret }).toString().slice(2),
          encodeURIComponent(secret).toLowerCase(),
        ]) {
          endpoint.set(
            json(400, { error: 'invalid_request', error_description: `bad token ${echoed} here` }),
          );
          const failure = classifyProviderError(await provider.refresh(secret).catch((e) => e), [
            secret,
          ]);
          assert.equal(failure.detail, 'invalid_request: bad token [redacted] here');
        }
      },
    );
  } finally {
    await endpoint.close();
  }
});
