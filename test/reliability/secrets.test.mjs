// Secrets (issue 4): a whole login, refreshes, provider errors and a logout, with a confidential
// client and the log at trace level. Every secret of the run (access and id tokens, refresh tokens,
// the authorization code, the PKCE verifier, the client secret), seen from the provider's side and
// the client's, must appear in none of: the agent's log, any CLI stderr, any error message, status,
// `ps` output or /proc/*/cmdline of the agent and its clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, startForeground } from '../support/harness.mjs';
import { allCommandLines, waitForChild } from '../support/processes.mjs';
import {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
} from '../../dist/demo/localProvider.js';
import { makeIsolatedSandbox, sleep, stopChild, withSandbox } from '../support/reliability.mjs';

/** Every process's command line, as ps and /proc show them to any user. */
function commandLines() {
  const ps = execFileSync('ps', ['-eo', 'pid,args', '--no-headers'], { encoding: 'utf8' });
  return [ps, ...allCommandLines().map(({ args }) => args.join(' '))].join('\n');
}

for (const careless of [false, true]) {
  const title = careless
    ? 'secrets: a provider that echoes what it was sent in its error descriptions does not make the agent repeat it'
    : 'secrets: none in logs at trace level, error messages, status, ps or /proc/*/cmdline';
  test(title, { timeout: 90_000 }, async (t) => {
    const confidential = (issuer, redirectUrl) =>
      `[profiles.conf]\nclient_id = "${LOCAL_CONFIDENTIAL_CLIENT_ID}"\nclient_secret = "${LOCAL_CONFIDENTIAL_CLIENT_SECRET}"\nissuer = "${issuer}"\nredirect_url = "${redirectUrl}"\nstore = "file"\n`;
    const sb = await makeIsolatedSandbox({
      provider: { accessTokenTtl: 60 },
      profiles: confidential,
      env: { DBUS_SESSION_BUS_ADDRESS: undefined, KMS_AGENT_LOG_LEVEL: 'trace' },
    });
    const secrets = new Map(); // value → what it is
    const kinds = new Set();
    const remember = (what, value) => {
      if (typeof value !== 'string' || value.length < 16) return;
      kinds.add(what.replace(/ \(.*\)$/, '').replace(/ sent to .*$/, ''));
      if (!secrets.has(value)) {
        secrets.set(value, what);
        sb.rememberSecret(value);
      }
    };
    remember('client secret', LOCAL_CONFIDENTIAL_CLIENT_SECRET);

    // The provider's side: every secret the agent sends it.
    let echo; // a fault that answers with the secrets it was sent, as a careless provider might
    sb.provider.setFault((ctx) => {
      if (ctx.method !== 'POST') return undefined;
      const body = new URLSearchParams(
        typeof ctx.request.body === 'string' ? ctx.request.body : '',
      );
      for (const name of ['code', 'code_verifier', 'refresh_token', 'client_secret', 'token'])
        remember(`${name} sent to ${ctx.path}`, body.get(name));
      const auth = ctx.get('authorization');
      if (auth) {
        remember('authorization header', auth.replace(/^Basic /, ''));
        const [, secret] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
          .toString('utf8')
          .split(':');
        remember('client secret (basic auth)', decodeURIComponent(secret ?? ''));
      }
      return ctx.path === '/token' && echo ? echo(body) : undefined;
    });

    const outputs = []; // everything a user or script could see, besides the token on stdout
    const cli = async (args, options) => {
      const r = await sb.cli(args, options);
      outputs.push(`$ ${args.join(' ')}\n${r.stderr}`);
      return r;
    };
    const rpcError = async (method, params) => {
      try {
        await sb.rpc(method, params);
        return undefined;
      } catch (err) {
        outputs.push(`${method}: ${err.message}`);
        return err;
      }
    };
    const cmdlines = [];
    let agent;
    await withSandbox(
      sb,
      t,
      async () => {
        agent = await startForeground(sb);
        cmdlines.push(commandLines());

        // Login (the CLI, with the fake browser playing the provider's pages).
        let r = await cli(['login']);
        assert.equal(r.code, 0, r.stderr);
        const storeDir = join(sb.dir, 'state', 'kms-agent');
        const storedRefreshToken = () => {
          const files = readdirSync(storeDir).filter((f) => f.endsWith('.json'));
          return files.map(
            (f) => JSON.parse(readFileSync(join(storeDir, f), 'utf8')).refresh_token,
          )[0];
        };
        remember('refresh token (store)', storedRefreshToken());

        // Tokens, in every output form; then forced refreshes (each rotates the refresh token).
        for (const args of [
          ['token'],
          ['token', '--id'],
          ['token', '--access'],
          ['token', '--json'],
          ['token', '--header'],
          ['token', '--min-valid', '60'],
          ['token', '--access', '--min-valid', '60'],
        ]) {
          r = await cli(args);
          assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
          const out = r.stdout.trim();
          const value = args.includes('--json')
            ? JSON.parse(out).token
            : out.replace(/^Authorization: Bearer /, '');
          remember(`token (${args.join(' ')})`, value);
          remember('refresh token (store)', storedRefreshToken());
        }

        // exec: the token reaches the command through its environment; ps sees only the command.
        // The snapshot is taken while the command runs; the test then ends it.
        const exec = spawn(process.execPath, [CLI, 'exec', '--', 'sleep', '31.5'], {
          env: sb.env,
          stdio: 'ignore',
        });
        const execEnded = new Promise((resolve) => exec.once('exit', resolve));
        const sleeper = await waitForChild(exec.pid, ['sleep', '31.5'], 10_000);
        assert.ok(sleeper, 'the exec child is running');
        cmdlines.push(commandLines());
        process.kill(sleeper.pid, 'SIGTERM');
        await execEnded;
        assert.equal(exec.exitCode, 143);

        // Provider errors, a rejection then an outage, whose texts reach the log, the client and status.
        // A careless provider echoes what it was sent: the agent must not repeat it.
        echo = (body) => ({
          status: 400,
          body: {
            error: 'invalid_request',
            error_description: careless
              ? `refresh_token ${body.get('refresh_token')} rejected for client secret ${LOCAL_CONFIDENTIAL_CLIENT_SECRET}`
              : 'refresh_token rejected',
          },
        });
        r = await cli(['token', '--min-valid', '60']);
        assert.notEqual(r.code, 0, 'the refresh failed');
        await rpcError('token.get', { min_valid: 60 });
        echo = (body) => ({
          status: 503,
          body: careless
            ? `upstream down while handling ${body.get('refresh_token')}`
            : 'upstream down',
        });
        await sleep(1100);
        await rpcError('token.get', { min_valid: 60, kind: 'access' });
        r = await cli(['status']);
        r = await cli(['status', '--json']);
        outputs.push(r.stdout);
        echo = undefined;

        // Login errors: a forged callback carrying a code, a denied login. The 400 above ended the
        // login (any 4xx to a refresh does), so a new login brings the profile back.
        r = await cli(['login'], { env: { FAKE_BROWSER_DENY: '1' } });
        assert.equal(r.code, 3, r.stderr);
        r = await cli(['login']);
        assert.equal(r.code, 0, r.stderr);
        r = await cli(['token', '--min-valid', '60']);
        assert.equal(r.code, 0, `recovered: ${r.stderr}`);
        remember('token (after errors)', r.stdout.trim());
        remember('refresh token (store)', storedRefreshToken());

        // status, human and JSON.
        for (const args of [['status'], ['status', '--json'], ['profiles', '--json']]) {
          r = await cli(args);
          assert.equal(r.code, 0);
          outputs.push(r.stdout);
        }
        cmdlines.push(commandLines());

        // Logout revokes the refresh token (the provider sees it once more).
        r = await cli(['logout']);
        assert.equal(r.code, 0, r.stderr);
        await stopChild(agent.child);

        // The verdict.
        for (const needed of [
          'client secret',
          'code',
          'code_verifier',
          'refresh_token',
          'refresh token',
          'token',
        ]) {
          assert.ok(
            kinds.has(needed),
            `the test saw a ${needed} to look for (saw: ${[...kinds].join(', ')})`,
          );
        }
        const places = {
          'agent log (stderr, trace)': agent.stderr(),
          'CLI stderr, error messages, status': outputs.join('\n'),
          'ps and /proc/*/cmdline': cmdlines.join('\n'),
        };
        assert.match(agent.stderr(), /"level":10|"level":20|"level":30/, 'the log was written');
        const leaks = [];
        for (const [place, text] of Object.entries(places)) {
          for (const [value, what] of secrets)
            if (text.includes(value)) leaks.push(`${what} in ${place}`);
        }
        t.diagnostic(
          `${secrets.size} secrets checked (${[...kinds].join(', ')}) against ${Object.values(places).reduce((n, s) => n + s.length, 0)} bytes of logs, messages and command lines`,
        );
        for (const leak of leaks) t.diagnostic(`LEAK: ${leak}`);
        assert.deepEqual(leaks, [], 'no secret anywhere');
      },
      () => stopChild(agent?.child),
    );
  });
}
