// Many profiles at once, the Cosmian CLI's config files as profile `ckms`, and confidential
// clients, each logging in against the real local provider and serving tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  LOCAL_REDIRECT_URIS,
} from '../dist/demo/localProvider.js';
import { cosmianConfig } from './support/cosmianFiles.mjs';
import { jwtPayload, makeSandbox, profileToml } from './support/harness.mjs';

const subOf = (result) => jwtPayload(result.stdout.trim()).sub;

test('two profiles logged in as different users at once: each its own tokens, chosen by --profile or KMS_AGENT_PROFILE', async () => {
  const sb = await makeSandbox({
    config: (issuer) =>
      `default_profile = "work"\n\n${profileToml('work', issuer, { store: 'file' })}\n${profileToml('home', issuer, { store: 'file' })}`,
  });
  try {
    await sb.login(['--profile', 'work']);
    const bob = await sb.cli(['login', '--profile', 'home'], {
      env: { FAKE_BROWSER_LOGIN: 'bob' },
    });
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(bob.stdout, 'logged in to profile home as bob@example.com\n');

    assert.equal(subOf(await sb.token()), 'alice', 'the default profile');
    assert.equal(subOf(await sb.token(['--profile', 'home'])), 'bob');
    assert.equal(subOf(await sb.token(['--profile', 'work'])), 'alice');
    const fromEnv = await sb.cli(['token'], { env: { KMS_AGENT_PROFILE: 'home' } });
    assert.equal(subOf(fromEnv), 'bob');
    sb.rememberSecret(fromEnv.stdout);

    // Concurrent refreshes of both profiles: each refreshes its own login, once.
    const client = await AgentClient.connect(sb.socketPath);
    try {
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.call('token.get', { profile: i % 2 ? 'home' : 'work', min_valid: 3600 }),
        ),
      );
      replies.forEach((r) => sb.rememberSecret(r.token));
      assert.deepEqual(
        replies.map((r) => `${r.profile}:${jwtPayload(r.token).sub}`),
        Array.from({ length: 20 }, (_, i) => (i % 2 ? 'home:bob' : 'work:alice')),
      );
      assert.equal(sb.provider.stats.grants.refresh_token, 2, 'one refresh per profile');
    } finally {
      client.close();
    }

    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.deepEqual(
      status.profiles.map((p) => [p.name, p.email, p.logged_in]),
      [
        ['work', 'alice@example.com', true],
        ['home', 'bob@example.com', true],
      ],
    );

    // Logging out of one leaves the other logged in.
    assert.equal((await sb.cli(['logout', '--profile', 'work'])).code, 0);
    assert.equal((await sb.token()).code, 5);
    assert.equal(subOf(await sb.token(['--profile', 'home'])), 'bob');

    const unknown = await sb.token(['--profile', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no profile named nope: configured profiles are work, home/);
  } finally {
    await sb.close();
  }
});

test('`profiles` lists each profile with the file it came from', async () => {
  const sb = await makeSandbox({
    config: (issuer) => profileToml('own', issuer, { store: 'memory' }),
  });
  try {
    const cosmianFile = join(sb.env.HOME, '.cosmian', 'kms.toml');
    mkdirSync(join(sb.env.HOME, '.cosmian'));
    writeFileSync(cosmianFile, cosmianConfig('kms.toml', sb.provider.issuer));
    const json = await sb.cli(['profiles', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [
      { name: 'own', source: sb.configPath, source_kind: 'config', default: false },
      { name: 'ckms', source: cosmianFile, source_kind: 'kms.toml', default: false },
    ]);
    const text = await sb.cli(['profiles']);
    assert.equal(text.stdout, `own\t${sb.configPath}\nckms\t${cosmianFile}\n`);
  } finally {
    await sb.close();
  }
});

// ---- the Cosmian CLI's config files ----

for (const layout of ['ckms.toml', 'cosmian.toml', 'kms.toml', 'kms.json']) {
  test(`~/.cosmian/${layout} is a working profile ckms, and the file is never written`, async () => {
    // No own config file: the Cosmian one alone configures the agent.
    const sb = await makeSandbox({ config: '' });
    try {
      const file = join(sb.env.HOME, '.cosmian', layout);
      mkdirSync(join(sb.env.HOME, '.cosmian'));
      writeFileSync(file, cosmianConfig(layout, sb.provider.issuer));
      const before = readFileSync(file);

      const login = await sb.login();
      assert.equal(login.stdout, 'logged in to profile ckms as alice@example.com\n');
      const token = await sb.token(['--profile', 'ckms']);
      assert.equal(token.code, 0, token.stderr);
      const claims = jwtPayload(token.stdout.trim());
      assert.equal(claims.email, 'alice@example.com', 'the id_token, as the Cosmian CLI sends it');
      assert.equal(claims.iss, sb.provider.issuer);
      assert.equal(
        sb.provider.stats.byPath['/.well-known/openid-configuration'],
        undefined,
        'explicit URLs, no discovery',
      );

      // A refresh works too (the Cosmian CLI itself cannot refresh).
      assert.equal((await sb.token(['--min-valid', '3600'])).code, 0);
      assert.equal(sb.provider.stats.grants.refresh_token, 1);

      assert.equal((await sb.cli(['logout'])).code, 0);
      assert.deepEqual(readFileSync(file), before, `${layout} is byte-for-byte unchanged`);
    } finally {
      await sb.close();
    }
  });
}

// ---- confidential clients ----

const POST_CLIENT_ID = 'kms-agent-confidential-post';
const POST_CLIENT_SECRET = 'test-secret-kms-agent-confidential-post';

/** How each token request authenticated the client: an HTTP Basic header, or the secret in the form. */
function recordClientAuth(provider) {
  const seen = [];
  provider.setFault((ctx) => {
    if (ctx.state.grantType) {
      const posted = new URLSearchParams(ctx.request.body).has('client_secret');
      seen.push(
        `${ctx.state.grantType}: ${/^Basic /.test(ctx.req.headers.authorization ?? '') ? 'basic' : ''}${posted ? 'post' : ''}`,
      );
    }
    return undefined;
  });
  return seen;
}

for (const { method, clientId, secret } of [
  {
    method: 'client_secret_basic',
    clientId: LOCAL_CONFIDENTIAL_CLIENT_ID,
    secret: LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  },
  { method: 'client_secret_post', clientId: POST_CLIENT_ID, secret: POST_CLIENT_SECRET },
]) {
  test(`a confidential client with ${method} logs in, refreshes and logs out; the secret never reaches a log`, async () => {
    const sb = await makeSandbox({
      provider: {
        clients: [
          {
            client_id: POST_CLIENT_ID,
            client_secret: POST_CLIENT_SECRET,
            token_endpoint_auth_method: 'client_secret_post',
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: LOCAL_REDIRECT_URIS,
          },
        ],
      },
      profile: {
        client_id: clientId,
        client_secret: secret,
        token_endpoint_auth_method: method,
        store: 'file',
      },
      env: { KMS_AGENT_LOG_LEVEL: 'debug' },
    });
    sb.rememberSecret(secret);
    try {
      const seen = recordClientAuth(sb.provider);
      await sb.login();
      const refreshed = await sb.token(['--min-valid', '3600']);
      assert.equal(refreshed.code, 0, refreshed.stderr);
      assert.equal(subOf(refreshed), 'alice');
      assert.deepEqual(sb.provider.stats.grants, { authorization_code: 1, refresh_token: 1 });
      const how = method === 'client_secret_basic' ? 'basic' : 'post';
      assert.deepEqual(seen, [`authorization_code: ${how}`, `refresh_token: ${how}`]);
      // Revocation authenticates the same way; the provider refuses it otherwise.
      const logout = await sb.cli(['logout']);
      assert.match(logout.stderr, /revoked/);
      assert.equal(sb.provider.stats.revocations, 1);
      assert.equal(sb.leakedSecrets().leaked, 0, 'no secret in any log');
    } finally {
      await sb.close();
    }
  });
}

// ---- choosing a profile, and config mistakes as the user meets them ----

test('several profiles and no default_profile: token names them and the two ways to choose', async (t) => {
  const sb = await makeSandbox({
    config: (issuer) =>
      `${profileToml('work', issuer, { store: 'memory' })}\n${profileToml('home', issuer, { store: 'memory' })}`,
  });
  try {
    const r = await sb.token();
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `kms-agent: several profiles (work, home): pick one with --profile or set default_profile in ${sb.configPath}\n`,
    );
    t.diagnostic(r.stderr.trim());
    // Naming one is enough: it is then only not logged in.
    assert.equal((await sb.token(['--profile', 'home'])).code, 5);
  } finally {
    await sb.close();
  }
});

test('a --config or KMS_AGENT_CONFIG file that does not exist is an error naming it, not an agent without profiles', async (t) => {
  const sb = await makeSandbox({ provider: null, config: '' });
  try {
    const missing = join(sb.dir, 'typo.toml');
    const says = `config ${missing}: the file does not exist (named by --config or KMS_AGENT_CONFIG): check the path, or write a profile there with \`kms-agent --config ${missing} add NAME --issuer URL --client-id ID\``;
    for (const [how, args, env] of [
      ['--config', ['--config', missing], {}],
      ['KMS_AGENT_CONFIG', [], { KMS_AGENT_CONFIG: missing }],
    ]) {
      const start = await sb.cli([...args, 'start'], { env });
      assert.equal(start.code, 1, `${how}: start exits 1 (${start.stderr})`);
      assert.ok(start.stderr.trimEnd().endsWith(says), `${how}: ${start.stderr}`);
      const token = await sb.cli([...args, 'token'], { env });
      // Said before any agent is asked or started: the same error whether one runs or not.
      assert.equal(token.code, 1, `${how}: token exits 1 (${token.stderr})`);
      assert.ok(token.stderr.includes(says), `${how}: ${token.stderr}`);
      assert.equal(token.stderr.trimEnd().split('\n').length, 1);
    }
    t.diagnostic(says);
  } finally {
    await sb.close();
  }
});

test("a relative --config is the caller's; one the agent does not read is refused", async (t) => {
  const sb = await makeSandbox({ config: '', env: { KMS_AGENT_CONFIG: undefined } });
  try {
    const cwd = join(sb.dir, 'project');
    mkdirSync(cwd, { mode: 0o700 });
    writeFileSync(
      join(cwd, 'other.toml'),
      profileToml('rel', sb.provider.issuer, { store: 'memory' }),
      { mode: 0o600 },
    );
    let r = await sb.cli(['--config', 'other.toml', 'start'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    r = await sb.cli(['profiles'], { cwd: sb.dir });
    assert.equal(r.stdout, `rel (default)\t${join(cwd, 'other.toml')}\n`);
    // Another --config while that agent runs: it keeps its own file; start refuses, naming both.
    writeFileSync(join(cwd, 'third.toml'), '', { mode: 0o600 });
    r = await sb.cli(['--config', 'third.toml', 'start'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'nothing for eval');
    const [running, named] = [join(cwd, 'other.toml'), join(cwd, 'third.toml')];
    const refusal = `reads ${running}, not ${named}: to use ${named}, run \`kms-agent stop\` first`;
    assert.match(r.stderr, new RegExp(`^kms-agent: the running agent \\(pid \\d+\\) ${refusal}`));
    t.diagnostic(r.stderr.trim());
    assert.equal((await sb.cli(['stop'])).code, 0);
    // The token fast path's autostart resolves it from the caller's directory too.
    r = await sb.cli(['--config', 'other.toml', 'token'], { cwd });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /not logged in to profile rel/);
  } finally {
    await sb.close();
  }
});

test('a redirect_url on 127.0.0.2 is refused at start: the listener binds 127.0.0.1 and ::1 only', async () => {
  const sb = await makeSandbox({
    config: (issuer) =>
      profileToml('local', issuer, { redirect_url: 'http://127.0.0.2:17899/authorization' }),
  });
  try {
    const r = await sb.cli(['start']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /profile "local": key "redirect_url": expected a redirect to localhost, 127\.0\.0\.1 or \[::1\] \(the login listener binds only 127\.0\.0\.1 and ::1: another process could listen on 127\.0\.0\.2 and take the code\), got "http:\/\/127\.0\.0\.2:17899\/authorization"/,
    );
  } finally {
    await sb.close();
  }
});
