// A smart-HTTP git server on loopback that demands HTTP Basic auth, so the real git asks its
// credential helper: a bare repository with one commit, served by `git http-backend` (CGI) behind a
// Node http server. `runGit` runs a git client that can never prompt and reads no user or system config.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { privateTempDir, run } from './processRun.mjs';

export const GIT_REALM = 'kms-agent-test';

/**
 * The environment of a git that never prompts (GIT_TERMINAL_PROMPT=0, no askpass) and sees only the
 * config given on its command line or in the repository: no system config, /dev/null as global
 * config, HOME in a temp dir. `env` adds to it.
 */
export function gitEnv(home, env = {}) {
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'kms-agent test',
    GIT_AUTHOR_EMAIL: 'test@kms-agent.invalid',
    GIT_COMMITTER_NAME: 'kms-agent test',
    GIT_COMMITTER_EMAIL: 'test@kms-agent.invalid',
    ...env,
  };
}

/** Runs git with gitEnv(home, env); resolves with {code, stdout, stderr}. */
export function runGit(args, { home, env = {}, cwd } = {}) {
  if (!home) throw new Error('runGit needs a home directory (a temp dir), never the real one');
  return run('git', args, { env: gitEnv(home, env), cwd });
}

/** A bare repository `repo.git` under `root` whose main branch holds one commit with README. */
async function makeRepository(root, home) {
  const work = join(root, 'work');
  const git = async (args, cwd = work) => {
    const r = await runGit(args, { home, cwd });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  mkdirSync(work);
  await git(['init', '-q', '-b', 'main']);
  writeFileSync(join(work, 'README'), 'a repository served to test git credential helpers\n');
  await git(['add', 'README']);
  await git(['commit', '-q', '-m', 'first commit']);
  const head = await git(['rev-parse', 'HEAD']);
  await git(['clone', '-q', '--bare', work, join(root, 'repos', 'repo.git')], root);
  rmSync(work, { recursive: true, force: true });
  return head;
}

/** The username and password of a Basic Authorization header, or undefined. */
function basicCredentials(header) {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon === -1
    ? undefined
    : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Runs `git http-backend` for one request (RFC 3875 CGI) and relays its answer. */
function serveThroughBackend(req, res, { root, home, username }) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const env = gitEnv(home, {
    GIT_PROJECT_ROOT: join(root, 'repos'),
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_USER: username,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(req.headers['content-type'] ? { CONTENT_TYPE: req.headers['content-type'] } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding']
      ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
      : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
  });
  const backend = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = [];
  let stderr = '';
  backend.stdout.on('data', (chunk) => out.push(chunk));
  backend.stderr.on('data', (chunk) => (stderr += chunk));
  backend.stdin.on('error', () => undefined);
  req.pipe(backend.stdin);
  backend.on('close', (code) => {
    const bytes = Buffer.concat(out);
    const split =
      bytes.indexOf('\r\n\r\n') !== -1
        ? { at: bytes.indexOf('\r\n\r\n'), len: 4 }
        : { at: bytes.indexOf('\n\n'), len: 2 };
    if (split.at === -1) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end(`git http-backend exited ${code}: ${stderr}`);
    }
    let status = 200;
    const headers = {};
    for (const line of bytes.subarray(0, split.at).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(bytes.subarray(split.at + split.len));
  });
}

/**
 * Starts the server on 127.0.0.1 (a free port). Every request without Basic credentials, or whose
 * credentials acceptCredentials(username, password) refuses, gets 401 with
 * `WWW-Authenticate: Basic realm="kms-agent-test"`. `requests` records each request and the
 * credentials it carried; `head` is the commit id of the repository's main branch.
 */
export async function startGitHttp({ acceptCredentials }) {
  const root = privateTempDir('githttp');
  const home = join(root, 'home');
  mkdirSync(home);
  const head = await makeRepository(root, home);
  const requests = [];
  const server = createServer((req, res) => {
    const credentials = basicCredentials(req.headers.authorization);
    const accepted =
      credentials !== undefined &&
      acceptCredentials(credentials.username, credentials.password) === true;
    requests.push({ method: req.method, path: req.url, ...(credentials ?? {}), accepted });
    if (!accepted) {
      req.resume();
      res.writeHead(401, {
        'www-authenticate': `Basic realm="${GIT_REALM}"`,
        'content-type': 'text/plain',
      });
      return res.end('authentication required\n');
    }
    serveThroughBackend(req, res, { root, home, username: credentials.username });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    host: `127.0.0.1:${port}`,
    head,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
