// The real-tool fixtures (test/support/tools.mjs) against the real kubectl and git, with stand-in
// credential programs: what these tools send to and expect from a token source, which
// `kms-agent kubectl-credential` and `kms-agent git-credential` must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGit, startGitHttp, startKubeApi, writeKubeconfig } from './support/tools.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const support = join(dirname(fileURLToPath(import.meta.url)), 'support', 'tools');
const EXEC_PLUGIN = join(support, 'standInExecPlugin.mjs');
const CREDENTIAL_HELPER = join(support, 'standInCredentialHelper.mjs');
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** The JSON lines a stand-in appended to its log, then the log emptied. */
function takeLog(path) {
  if (!existsSync(path)) return [];
  const entries = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  rmSync(path);
  return entries;
}

test(
  'kubectl runs the exec plugin of the kubeconfig and sends its token; caches it in-process until expirationTimestamp',
  { skip: !has('kubectl') && 'needs kubectl' },
  async (t) => {
    const dir = privateTempDir('kubectl');
    const api = await startKubeApi({ acceptToken: (token) => token === 'token-for-kubectl' });
    try {
      const log = join(dir, 'plugin.log');
      const kubeconfig = join(dir, 'kubeconfig');
      const configure = (env) =>
        writeKubeconfig(kubeconfig, {
          server: api.server,
          caData: api.caData,
          execCommand: EXEC_PLUGIN,
          execArgs: ['kubectl-credential'],
          execEnv: { STAND_IN_LOG: log, ...env },
        });
      const version = (await api.kubectl(['version', '--client', '-o', 'json'])).stdout;
      t.diagnostic(`kubectl ${JSON.parse(version).clientVersion.gitVersion}`);

      configure({ STAND_IN_TOKEN: 'token-for-kubectl', STAND_IN_EXPIRY: '2099-01-01T00:00:00Z' });
      let r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).gitVersion, 'v1.32.0-kms-agent-test');
      assert.ok(
        api.requests.length > 0 &&
          api.requests.every((q) => q.authorization === 'Bearer token-for-kubectl'),
        'every request carried the token',
      );
      const calls = takeLog(log);
      assert.ok(calls.length >= 1);
      assert.deepEqual(calls[0].argv, ['kubectl-credential']);
      assert.deepEqual(JSON.parse(calls[0].execInfo), {
        kind: 'ExecCredential',
        apiVersion: 'client.authentication.k8s.io/v1',
        spec: { interactive: false },
      });

      // Several requests in one process (discovery): one plugin run while the credential is valid...
      api.requests.length = 0;
      r = await api.kubectl(['--kubeconfig', kubeconfig, 'api-versions']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'v1\n');
      assert.ok(api.requests.length >= 3, `discovery made ${api.requests.length} requests`);
      assert.equal(takeLog(log).length, 1, 'one plugin run for all of them');
      // ...and one per request once expirationTimestamp has passed.
      configure({ STAND_IN_TOKEN: 'token-for-kubectl', STAND_IN_EXPIRY: '2000-01-01T00:00:00Z' });
      api.requests.length = 0;
      r = await api.kubectl(['--kubeconfig', kubeconfig, 'api-versions']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        takeLog(log).length,
        api.requests.length,
        'an expired credential is fetched again for every request',
      );

      // A token the server refuses: 401 with a Status, and kubectl fails.
      configure({ STAND_IN_TOKEN: 'some-other-token' });
      api.requests.length = 0;
      r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Unauthorized/);
      assert.ok(api.requests.some((q) => q.authorization === 'Bearer some-other-token'));
    } finally {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'git asks the credential helper over smart HTTP with Basic auth, then says store or erase',
  { skip: !has('git') && 'needs git' },
  async (t) => {
    const dir = privateTempDir('git');
    const server = await startGitHttp({
      acceptCredentials: (username, password) =>
        username === 'alice' && password === 'token-for-git',
    });
    try {
      const log = join(dir, 'helper.log');
      const git = (args, env = {}) =>
        runGit(['-c', `credential.helper=${CREDENTIAL_HELPER}`, ...args], {
          home: dir,
          cwd: dir,
          env: { STAND_IN_LOG: log, ...env },
        });
      const good = { STAND_IN_USERNAME: 'alice', STAND_IN_PASSWORD: 'token-for-git' };
      t.diagnostic((await runGit(['--version'], { home: dir })).stdout.trim());

      // No credentials: 401 with the realm; git asks the helper, then sends username and password.
      let r = await git(['ls-remote', server.url], {
        ...good,
        STAND_IN_EXPIRY: String(Math.floor(Date.now() / 1000) + 3600),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${server.head}\\tHEAD$`, 'm'));
      assert.deepEqual(server.requests[0], {
        method: 'GET',
        path: '/repo.git/info/refs?service=git-upload-pack',
        accepted: false,
      });
      assert.ok(
        server.requests
          .slice(1)
          .every((q) => q.username === 'alice' && q.password === 'token-for-git' && q.accepted),
      );
      const [get, store, ...rest] = takeLog(log);
      assert.deepEqual(get, {
        args: ['get'],
        action: 'get',
        input: `protocol=http\nhost=${server.host}\n`,
      });
      assert.equal(
        store.action,
        'store',
        'git tells every helper to store a credential that worked',
      );
      assert.match(store.input, /^username=alice$/m);
      assert.deepEqual(rest, []);

      // credential.useHttpPath adds the repository path (no leading slash).
      r = await git(
        ['-c', 'credential.useHttpPath=true', 'clone', '-q', server.url, 'clone'],
        good,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        readFileSync(join(dir, 'clone', 'README'), 'utf8'),
        'a repository served to test git credential helpers\n',
      );
      assert.equal(takeLog(log)[0].input, `protocol=http\nhost=${server.host}\npath=repo.git\n`);

      // A refused password: git fails (no prompt, no retry) and tells the helper to erase it.
      server.requests.length = 0;
      r = await git(['ls-remote', server.url], {
        STAND_IN_USERNAME: 'alice',
        STAND_IN_PASSWORD: 'expired-token',
      });
      assert.equal(r.code, 128);
      assert.match(r.stderr, /Authentication failed/);
      assert.deepEqual(
        takeLog(log).map((c) => c.action),
        ['get', 'erase'],
      );
      assert.equal(server.requests.filter((q) => q.password === 'expired-token').length, 1);

      // Without a helper git would prompt: the fixture's environment makes it fail instead.
      r = await runGit(['ls-remote', server.url], { home: dir });
      assert.equal(r.code, 128);
      assert.match(r.stderr, /terminal prompts disabled/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'git runs `!kms-agent git-credential`, not `kms-agent git-credential`; a per-URL reset keeps other helpers from the token',
  { skip: !has('git') && 'needs git' },
  async () => {
    const dir = privateTempDir('git');
    const server = await startGitHttp({
      acceptCredentials: (username, password) =>
        username === 'alice' && password === 'token-for-git',
    });
    try {
      // `kms-agent` on PATH is the stand-in helper, as the real command will be.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      symlinkSync(CREDENTIAL_HELPER, join(bin, 'kms-agent'));
      const log = join(dir, 'helper.log');
      const globalConfig = join(dir, 'gitconfig');
      const env = {
        PATH: `${bin}:${process.env.PATH}`,
        STAND_IN_LOG: log,
        STAND_IN_USERNAME: 'alice',
        STAND_IN_PASSWORD: 'token-for-git',
        GIT_CONFIG_GLOBAL: globalConfig,
      };
      const lsRemote = (config) => {
        writeFileSync(globalConfig, config);
        return runGit(['ls-remote', server.url], { home: dir, env });
      };

      // Without `!`, git takes the value as the helper `git credential-kms-agent`.
      let r = await lsRemote('[credential]\n\thelper = kms-agent git-credential\n');
      assert.equal(r.code, 128);
      assert.match(r.stderr, /'credential-kms-agent' is not a git command/);
      assert.deepEqual(takeLog(log), []);

      r = await lsRemote('[credential]\n\thelper = !kms-agent git-credential\n');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        takeLog(log).map((c) => c.args),
        [
          ['git-credential', 'get'],
          ['git-credential', 'store'],
        ],
      );

      // Another helper configured for all hosts is asked too, and told to store the token...
      const other = `\thelper = ${CREDENTIAL_HELPER} other-helper\n`;
      const perUrl = `[credential "http://${server.host}"]\n`;
      r = await lsRemote(`[credential]\n${other}${perUrl}\thelper = !kms-agent git-credential\n`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        takeLog(log)
          .filter((c) => c.args[0] === 'other-helper')
          .map((c) => c.action),
        ['get', 'store'],
      );
      // ...unless the per-URL section first resets the list with an empty helper.
      r = await lsRemote(
        `[credential]\n${other}${perUrl}\thelper =\n\thelper = !kms-agent git-credential\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        takeLog(log).map((c) => c.args),
        [
          ['git-credential', 'get'],
          ['git-credential', 'store'],
        ],
      );
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
