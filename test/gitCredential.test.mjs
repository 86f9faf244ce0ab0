// `kms-agent git-credential` (README "git") as the credential helper of the real git, over smart
// HTTP against a loopback server that demands the agent's token; and the helper protocol itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtPayload, makeSandbox, profileToml } from './support/harness.mjs';
import { kmsAgentOnPath } from './support/binDir.mjs';
import { assertNoLeak, watchForToken } from './support/tokenWatch.mjs';
import { runGit, startGitHttp } from './support/tools.mjs';
import { terminalControls } from './support/hostileProvider.mjs';

test(
  'git ls-remote and clone get the token from `!kms-agent git-credential`; other helpers never see it',
  { timeout: 120_000 },
  async (t) => {
    let token;
    const server = await startGitHttp({
      acceptCredentials: (username, password) => username === 'oauth2' && password === token,
    });
    const sb = await makeSandbox({
      config: (issuer) =>
        `${profileToml('local', issuer, { store: 'memory' })}\n[git."${server.host}"]\nprofile = "local"\n\n[git."gitlab.example.com"]\nprofile = "local"\nusername = "alice"\n`,
    });
    try {
      await sb.login();
      token = (await sb.token()).stdout.trim();
      const home = join(sb.dir, 'git-home');
      mkdirSync(home);
      const globalConfig = join(home, '.gitconfig');
      const { HOME: _home, ...agentEnv } = sb.env;
      const env = { ...agentEnv, PATH: kmsAgentOnPath(sb.dir), GIT_CONFIG_GLOBAL: globalConfig };
      const git = (args) => runGit(args, { home, cwd: home, env });
      const url = `http://${server.host}`;

      // The README's setup, as a user types it: a store helper of their own for every host, then,
      // for this host only, a reset and kms-agent.
      for (const args of [
        ['config', '--global', 'credential.helper', 'store'],
        ['config', '--global', `credential.${url}.helper`, ''],
        ['config', '--global', '--add', `credential.${url}.helper`, '!kms-agent git-credential'],
      ]) {
        const r = await git(args);
        assert.equal(r.code, 0, r.stderr);
      }

      await t.test(
        'ls-remote and clone: the server gets oauth2 and the token; no file, command line or environment holds it',
        async () => {
          const watch = watchForToken(token);
          const lsRemote = await git(['ls-remote', server.url]);
          const clone = await git(['clone', '-q', server.url, 'clone']);
          assertNoLeak(assert, await watch.stop(), 'git');
          assert.equal(lsRemote.code, 0, lsRemote.stderr);
          assert.match(lsRemote.stdout, new RegExp(`^${server.head}\\tHEAD$`, 'm'));
          assert.equal(clone.code, 0, clone.stderr);
          assert.equal(
            readFileSync(join(home, 'clone', 'README'), 'utf8'),
            'a repository served to test git credential helpers\n',
          );
          assert.ok(
            server.requests.some(
              (q) => q.accepted && q.username === 'oauth2' && q.password === token,
            ),
          );
          assert.equal(
            existsSync(join(home, '.git-credentials')),
            false,
            'the store helper was never asked to store the token',
          );
        },
      );

      await t.test(
        'a host without a [git] entry: nothing for git, one line saying why, exit 0',
        async () => {
          const r = await sb.cli(['git-credential', 'get'], {
            input: 'protocol=https\nhost=github.com\n\n',
          });
          assert.deepEqual([r.code, r.stdout], [0, '']);
          assert.match(
            r.stderr,
            /^kms-agent: no \[git\."github\.com"\] entry in .*config\.toml names a profile for this host: add one, or use `kms-agent git-credential --profile NAME`\n$/,
          );
          const withEnv = await sb.cli(['git-credential', 'get'], {
            input: 'protocol=https\nhost=github.com\n\n',
            env: { KMS_AGENT_PROFILE: 'local' },
          });
          assert.equal(
            withEnv.stdout,
            '',
            'KMS_AGENT_PROFILE does not send a token to any host that asks',
          );
          const named = await sb.cli(['git-credential', '--profile', 'local', 'get'], {
            input: 'protocol=https\nhost=github.com\n\n',
          });
          assert.equal(named.code, 0, named.stderr);
          assert.match(
            named.stdout,
            /^username=oauth2\npassword=\S+\npassword_expiry_utc=\d+\n$/,
            '--profile serves any host',
          );
          sb.rememberSecret(token);
        },
      );

      await t.test(
        'get answers the configured username, the token and its expiry; store and erase read and do nothing',
        async () => {
          const r = await sb.cli(['git-credential', 'get'], {
            input:
              'protocol=https\nhost=GitLab.example.com\npath=group/repo.git\nusername=someone\n\n',
          });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            r.stdout,
            `username=alice\npassword=${token}\npassword_expiry_utc=${jwtPayload(token).exp}\n`,
          );
          assert.equal(r.stderr, '');
          for (const action of ['store', 'erase', 'some-future-action']) {
            const quiet = await sb.cli(['git-credential', action], {
              input: `protocol=https\nhost=gitlab.example.com\nusername=alice\npassword=${token}\n\n`,
            });
            assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, '', ''], action);
          }
          const usage = await sb.cli(['git-credential']);
          assert.equal(usage.code, 1);
          assert.match(usage.stderr, /git-credential takes the action git gives it/);
        },
      );

      await t.test('plain http to another machine: no token, one line saying why', async () => {
        const r = await sb.cli(['git-credential', 'get'], {
          input: 'protocol=http\nhost=gitlab.example.com\n\n',
        });
        assert.deepEqual([r.code, r.stdout], [0, '']);
        assert.match(r.stderr, /refusing to send a token over plain http to gitlab\.example\.com/);
      });

      await t.test(
        "git's protocol, host and url read as a URL parser reads them (issue 20, finding 3)",
        async () => {
          const get = (input) =>
            sb.cli(['git-credential', '--profile', 'local', 'get'], { input: `${input}\n\n` });
          for (const input of [
            'protocol=http\nhost=[::1].evil.example',
            'url=http://[::1].evil.example/group/repo.git',
            'protocol=https\nhost=evil.example/@good.example',
            'protocol=http\nhost=\x1b[31mevil.example\x1b[0m',
            'url=http://%1b[31mevil.example/',
          ]) {
            const r = await get(input);
            assert.deepEqual(
              [r.code, r.stdout],
              [0, ''],
              `no token for ${JSON.stringify(input)}: ${r.stderr}`,
            );
            assert.match(
              r.stderr,
              /^kms-agent: (git's host ".*" is not a host name or address: no token for it|refusing to send a token over plain http)/,
              JSON.stringify(input),
            );
            assert.deepEqual(
              terminalControls(r.stderr.slice(0, -1)),
              [],
              `no control character echoed: ${JSON.stringify(r.stderr)}`,
            );
          }
          // The loopback rule holds for the host as parsed: 127.1 is 127.0.0.1, and a url's parts count like git's.
          for (const input of [
            'protocol=http\nhost=127.1:8080',
            'url=http://localhost:8080/repo.git',
            'url=http://evil.example/\nhost=localhost',
          ]) {
            const r = await get(input);
            assert.equal(r.code, 0, r.stderr);
            assert.match(
              r.stdout,
              /^username=oauth2\npassword=\S+\n/,
              `a token for ${JSON.stringify(input)}`,
            );
          }
          const r = await get('protocol=http\nhost=localhost\nurl=http://evil.example/');
          assert.equal(r.stdout, '', 'a url after the host replaces it');
          assert.match(r.stderr, /refusing to send a token over plain http to evil\.example/);
        },
      );

      await t.test(
        'not logged in: git stops (quit), shows why, and sends no password',
        async () => {
          assert.equal((await sb.cli(['logout'])).code, 0);
          server.requests.length = 0;
          const r = await git(['ls-remote', server.url]);
          assert.equal(r.code, 128);
          assert.match(
            r.stderr,
            /kms-agent: not logged in to profile local: run `kms-agent login --profile local`/,
          );
          assert.match(r.stderr, /credential helper '!kms-agent git-credential' told us to quit/);
          assert.ok(
            server.requests.every((q) => q.password === undefined),
            'no password was sent',
          );
        },
      );
    } finally {
      await sb.close();
      await server.close();
    }
  },
);
