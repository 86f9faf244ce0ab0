// A stand-in Kubernetes API server for the real kubectl, and a kubeconfig whose user is an exec
// credential plugin. HTTPS with a throwaway CA: kubectl (client-go) never runs an exec plugin for a
// plain-http server, it sends such requests without any Authorization header.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { privateTempDir, run } from './processRun.mjs';

export const EXEC_CREDENTIAL_V1 = 'client.authentication.k8s.io/v1';

const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kms-agent-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** What a real API server answers on the discovery paths kubectl reads (core v1 only, no groups). */
const ROUTES = {
  '/version': VERSION,
  '/api': {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
};

function status(code, reason, message) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
}

/** A CA and a server certificate for IP 127.0.0.1 (Go wants the SAN), made with openssl. */
function makeCertificates(dir) {
  const openssl = (...args) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=kms-agent test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  openssl('req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '1',
    '-days',
    '2',
    '-extfile',
    'server.ext',
    '-out',
    'server.crt',
  );
  const read = (name) => readFileSync(join(dir, name));
  return { ca: read('ca.crt'), key: read('server.key'), cert: read('server.crt') };
}

/**
 * Starts the stand-in API server on 127.0.0.1 (a free port). It answers /version, /api and /apis
 * only to `Authorization: Bearer <t>` with acceptToken(t) true, else 401 with a Status, as a real one
 * does. `requests` records every request; `kubectl(args)` runs the real kubectl with this fixture's
 * own HOME (so its caches are the fixture's, kept between runs like a user's) and no KUBECONFIG.
 */
export async function startKubeApi({ acceptToken }) {
  const dir = privateTempDir('kubeapi');
  const { ca, key, cert } = makeCertificates(dir);
  const home = join(dir, 'home');
  mkdirSync(home);
  const requests = [];
  const server = createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url, 'https://127.0.0.1');
    const authorization = req.headers.authorization;
    requests.push({
      method: req.method,
      path: url.pathname,
      url: req.url,
      authorization,
      userAgent: req.headers['user-agent'],
    });
    const reply = (code, body) => {
      res.writeHead(code, {
        'content-type': 'application/json',
        'cache-control': 'no-cache, private',
      });
      res.end(JSON.stringify(body));
    };
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!bearer || !acceptToken(bearer[1]))
      return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    const body = req.method === 'GET' ? ROUTES[url.pathname] : undefined;
    if (!body)
      return reply(
        404,
        status(404, 'NotFound', 'the server could not find the requested resource'),
      );
    reply(200, body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const serverUrl = `https://127.0.0.1:${server.address().port}`;
  return {
    server: serverUrl,
    caData: ca.toString('base64'),
    requests,
    home,
    kubectl: (args, { env = {} } = {}) =>
      run('kubectl', args, { env: { PATH: process.env.PATH, HOME: home, ...env } }),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes a kubeconfig (JSON, which kubectl reads like YAML; 0600) whose only user is an exec plugin:
 * `execCommand execArgs…` with `execEnv` ({NAME: value}) added to kubectl's environment; or, with
 * `tokenFile`, a user whose bearer token kubectl reads from that file.
 */
export function writeKubeconfig(
  path,
  {
    server,
    caData,
    execCommand,
    execArgs = [],
    execEnv = {},
    apiVersion = EXEC_CREDENTIAL_V1,
    tokenFile,
  },
) {
  const exec = {
    apiVersion,
    command: execCommand,
    args: execArgs,
    env: Object.entries(execEnv).map(([name, value]) => ({ name, value })),
    interactiveMode: 'Never',
    provideClusterInfo: false,
  };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: { server, ...(caData ? { 'certificate-authority-data': caData } : {}) },
      },
    ],
    users: [{ name: 'kms-agent', user: tokenFile ? { tokenFile } : { exec } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'kms-agent' } }],
    'current-context': 'test',
  };
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return path;
}
