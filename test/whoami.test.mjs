// `kms-agent whoami`: who the tokens say you are, decoded client-side from what token.get returns,
// with the exit codes of `token`, and never a token on stdout or stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSandbox, profileToml } from './support/harness.mjs';

const KMS = 'https://kms.example.com';

/** The tokens the sandbox's profile serves now, for checking whoami prints none of them. */
async function tokensOf(sb, profile) {
  const tokens = [];
  for (const kind of ['--access', '--id']) {
    const r = await sb.token(['--profile', profile, kind]);
    if (r.code === 0) tokens.push(r.stdout.trim());
  }
  return tokens;
}

function assertNoToken(text, tokens) {
  for (const token of tokens) {
    assert.ok(!text.includes(token), 'no token in the output');
    // Not even the signature or the payload of a JWT on its own.
    for (const part of token.split('.'))
      if (part.length >= 16) assert.ok(!text.includes(part), 'no part of a token in the output');
  }
}

test('whoami: the id_token (JWT) and the opaque access token, in words and in JSON; never a token', async (t) => {
  const sb = await makeSandbox({
    provider: { resources: [KMS] },
    config: (issuer) =>
      `default_profile = "local"\n${profileToml('local', issuer, { store: 'memory' })}${profileToml('api', issuer, { store: 'memory', resource: KMS })}${profileToml('noid', issuer, { store: 'memory', scopes: ['email', 'offline_access'] })}`,
  });
  try {
    await sb.login();
    let r = await sb.cli(['whoami']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'profile local');
    assert.equal(lines[1], 'id_token: a JWT signed RS256');
    assert.equal(lines[2], '  subject   alice');
    assert.equal(lines[3], '  email     alice@example.com');
    assert.equal(lines[4], `  issuer    ${sb.provider.issuer}`);
    assert.equal(lines[5], '  audience  kms-agent-test');
    assert.match(r.stdout, /^ {2}expires {3}\d{4}-\d\d-\d\dT[\d:.]+Z \(in 60 min\)$/m);
    assert.match(
      r.stdout,
      /^access token: opaque \(not a JWT: only the provider can read it\)\n {2}scopes {4}openid email offline_access\n {2}expires /m,
    );
    t.diagnostic(r.stdout.trimEnd());
    assertNoToken(r.stdout + r.stderr, await tokensOf(sb, 'local'));

    r = await sb.cli(['whoami', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const who = JSON.parse(r.stdout);
    assert.equal(who.profile, 'local');
    assert.deepEqual(
      { ...who.id_token, expires_at: 0, issued_at: 0 },
      {
        format: 'jwt',
        algorithm: 'RS256',
        subject: 'alice',
        email: 'alice@example.com',
        issuer: sb.provider.issuer,
        audience: ['kms-agent-test'],
        expires_at: 0,
        issued_at: 0,
      },
    );
    assert.equal(who.access_token.format, 'opaque');
    assert.deepEqual(who.access_token.scopes, ['openid', 'email', 'offline_access']);
    assert.ok(who.access_token.expires_at > Date.now() / 1000);
    assert.deepEqual(who.notes, []);
    assertNoToken(r.stdout, await tokensOf(sb, 'local'));

    // A profile for an API (RFC 8707 resource): its access token is a JWT for that audience.
    await sb.login(['--profile', 'api']);
    r = await sb.cli(['whoami', '--profile', 'api']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^access token: a JWT signed RS256\n {2}subject {3}alice\n {2}email {5}alice@example\.com\n {2}issuer .*\n {2}audience {2}https:\/\/kms\.example\.com\n {2}scopes {4}openid email offline_access\n/m,
    );
    assertNoToken(r.stdout + r.stderr, await tokensOf(sb, 'api'));

    // A profile without openid has no id_token, and says why.
    await sb.login(['--profile', 'noid']);
    r = await sb.cli(['whoami', '--profile', 'noid']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^id_token:/m);
    assert.match(r.stdout, /^no id_token: profile noid does not ask for the openid scope/m);
    assertNoToken(r.stdout + r.stderr, await tokensOf(sb, 'noid'));
  } finally {
    await sb.close();
  }
});

test('whoami exits as token does: 5 not logged in, 6 provider unreachable and nothing cached', async () => {
  const sb = await makeSandbox({ profile: { store: 'file' } });
  try {
    let r = await sb.cli(['whoami']);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(
      r.stderr,
      'kms-agent: not logged in to profile local: run `kms-agent login --profile local`\n',
    );
    assert.equal(r.stdout, '');

    await sb.login();
    // A new agent (nothing cached) and a provider that answers 503 to everything.
    assert.equal((await sb.cli(['stop'])).code, 0);
    sb.provider.setFault(() => ({ status: 503 }));
    r = await sb.cli(['whoami']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /unreachable/);
    assert.equal(r.stdout, '');
    sb.provider.setFault(null);
  } finally {
    await sb.close();
  }
});
