// Client credentials, DPoP and step-up against Glewlwyd 2.7.5 (Debian), through the built CLI:
// client credentials with a client secret (basic, post) and private_key_jwt, DPoP for a login and
// for a service (with a mandatory server nonce), and step-up where Glewlwyd cannot: it returns no
// acr and an auth_time of 0, so acr_values and max_age logins are refused, saying why
// (docs/providers.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { kmsAgentOnPath } from './support/binDir.mjs';
import { startDpopResourceServer } from './support/dpopResourceServer.mjs';
import { makeGlewlwydSandbox, profileToml } from './support/harness.mjs';
import { serviceClient, SERVICE_SCOPE } from './support/serviceClients.mjs';

test('glewlwyd: client credentials, DPoP and step-up through the CLI', async (t) => {
  const services = {
    basic: await serviceClient('svcBasic', 'client_secret_basic'),
    post: await serviceClient('svcPost', 'client_secret_post'),
    ed: await serviceClient('svcEd', 'private_key_jwt', { alg: 'EdDSA' }),
    bound: await serviceClient('svcBound', 'client_secret_basic', { dpopBound: true }),
  };
  const keyDir = mkdtempSync(join(tmpdir(), 'kms-agent-keys-'));
  const keyFile = join(keyDir, 'ed.pem');
  writeFileSync(keyFile, services.ed.privateKeyPem, { mode: 0o600 });
  const service = (name, extra = {}) => ({
    client_id: services[name].clientId,
    grant: 'client_credentials',
    scopes: [SERVICE_SCOPE],
    store: 'memory',
    ...(services[name].secret
      ? { client_secret: services[name].secret, token_endpoint_auth_method: services[name].auth }
      : { private_key_file: keyFile }),
    ...extra,
  });
  const sb = await makeGlewlwydSandbox({
    provider: { serviceClients: Object.values(services), dpop: { requireNonce: true } },
    config: (issuer) =>
      'default_profile = "local"\n' +
      profileToml('local', issuer, { client_id: 'kms-agent-test', store: 'file' }) +
      profileToml('basic', issuer, service('basic')) +
      profileToml('post', issuer, service('post')) +
      profileToml('ed', issuer, service('ed')) +
      profileToml('bound', issuer, service('bound', { dpop: true })) +
      profileToml('user', issuer, { client_id: 'kms-agent-dpop', dpop: true, store: 'file' }),
  });
  const keys = createRemoteJWKSet(new URL(sb.provider.jwksUri));
  const api = await startDpopResourceServer({
    issuer: sb.provider.issuer,
    jwksUri: sb.provider.jwksUri,
  });
  const curl = (profile, url = `${api.url}keys`) =>
    new Promise((resolve) => {
      const line = 'kms-agent token --profile "$P" --dpop GET "$U" | curl -sS -H @- "$U"';
      const env = { ...sb.env, PATH: kmsAgentOnPath(sb.dir), P: profile, U: url };
      execFile('sh', ['-c', line], { env }, (error, stdout, stderr) => {
        sb.logs.push(stderr);
        resolve({ code: error ? 1 : 0, body: stdout ? JSON.parse(stdout) : {}, stderr });
      });
    });
  try {
    await t.test(
      'client credentials: client_secret_basic, client_secret_post, private_key_jwt',
      async () => {
        for (const name of ['basic', 'post', 'ed']) {
          const r = await sb.token(['--profile', name]);
          assert.equal(r.code, 0, `${name}: ${r.stderr}`);
          const { payload } = await jwtVerify(r.stdout.trim(), keys, {
            issuer: sb.provider.issuer,
          });
          assert.equal(payload.client_id, services[name].clientId, name);
          assert.equal(payload.scope, SERVICE_SCOPE);
        }
        const login = await sb.cli(['login', '--profile', 'basic']);
        assert.equal(login.code, 0);
        assert.match(login.stdout, /there is no login to do/);
      },
    );

    await t.test('DPoP: a service and a login, bound, through the mandatory nonce', async () => {
      const bound = await curl('bound');
      assert.equal(bound.code, 0, bound.stderr);
      assert.equal(bound.body.accepted, true, bound.body.reason);
      assert.equal(bound.body.client_id, services.bound.clientId);
      const refused = await sb.token(['--profile', 'bound']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /uses DPoP/);

      await sb.login(['--profile', 'user']);
      const user = await curl('user');
      assert.equal(user.body.accepted, true, user.body.reason);
      const jkt = user.body.jkt;
      // Glewlwyd binds a public client's refresh token too: after a restart, the stored key.
      assert.equal((await sb.cli(['stop'])).code, 0);
      const forced = await sb.cli([
        'token',
        '--profile',
        'user',
        '--force',
        '--dpop',
        'GET',
        api.url,
      ]);
      assert.equal(forced.code, 0, forced.stderr);
      const again = await curl('user');
      assert.equal(again.body.accepted, true, again.body.reason);
      assert.equal(again.body.jkt, jkt, 'the same key, from the store');
    });

    await t.test(
      'step-up: no acr, auth_time 0: acr_values and max_age logins refused',
      async () => {
        await sb.login();
        const acr = await sb.cli(['login', '--acr', 'urn:kms:gold']);
        assert.equal(acr.code, 3);
        assert.match(acr.stderr, /its acr is missing, not one of the acr_values asked for/);
        const maxAge = await sb.cli(['login', '--max-age', '300']);
        assert.equal(maxAge.code, 3);
        assert.match(
          maxAge.stderr,
          /its auth_time \(1970-01-01.*\) is more than max_age 300 s ago/,
        );
        assert.equal((await sb.token()).code, 0, 'the login that was there stays');
      },
    );
  } finally {
    await api.close();
    await sb.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
});
