// An HTTP reverse proxy on loopback in front of a provider that cannot count its own requests
// (test/support/glewlwyd.mjs): it counts them in the shape of LocalProviderStats
// (src/demo/localProvider.ts), so test/support/harness.mjs adds both kinds of provider up.
import { Agent, createServer, request } from 'node:http';

/**
 * Forwards every request to 127.0.0.1:`targetPort()` unchanged. POSTs to `tokenPath` are counted by
 * grant_type and POSTs to `revocationPath` as revocations. `setFault(hook)` may answer instead of
 * the provider: the hook gets {method, path, grantType, query} (query: URLSearchParams) and returns {status, body?}, 'hang' or nothing.
 */
export async function startCountingProxy({ targetPort, tokenPath, revocationPath }) {
  // No keep-alive towards the provider: nothing stays open once the proxy is closed.
  const agent = new Agent({ keepAlive: false });
  let stats = emptyStats();
  let faultHook = null;

  const server = createServer(async (req, res) => {
    try {
      const { pathname: path, searchParams: query } = new URL(req.url, 'http://proxy');
      const body = await readBody(req);
      stats.requests += 1;
      stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
      let grantType;
      if (req.method === 'POST' && path === tokenPath) {
        grantType = new URLSearchParams(body.toString('utf8')).get('grant_type') ?? '(none)';
        stats.grants[grantType] = (stats.grants[grantType] ?? 0) + 1;
      }
      if (req.method === 'POST' && path === revocationPath) stats.revocations += 1;

      const fault = await faultHook?.({ method: req.method, path, grantType, query });
      if (fault === 'hang') return; // answered never; close() drops the connection
      if (fault) {
        const reply = JSON.stringify(
          fault.body ?? { error: 'server_error', error_description: 'fault injected by the test' },
        );
        res.writeHead(fault.status, { 'content-type': 'application/json' }).end(reply);
        return;
      }
      forward(req, body, res, targetPort(), agent);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${error.message}\n`);
    }
  });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

  return {
    port,
    get stats() {
      return stats;
    },
    resetStats() {
      stats = emptyStats();
    },
    setFault(hook) {
      faultHook = hook;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}

function forward(req, body, res, port, agent) {
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode, answer.statusMessage, answer.headers);
      answer.pipe(res);
    },
  );
  // The provider is gone (it died, or is being closed): say so as a gateway would.
  upstream.on('error', (error) => {
    if (!res.headersSent)
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${error.message}\n`);
    else res.destroy();
  });
  upstream.end(body);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function emptyStats() {
  return { requests: 0, byPath: {}, grants: {}, revocations: 0 };
}
