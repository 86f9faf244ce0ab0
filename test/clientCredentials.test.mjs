// grant = "client_credentials" (docs/configuration.md) against the local oidc-provider: no login, a
// token on demand for the client itself, authenticated by a client secret (HTTP Basic or POST body)
// or a private key (private_key_jwt: RS256, ES256, EdDSA; the kid from the key or from the file);
// asked again before expiry while in use; every tool of docs/tools.md works with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { everyTool, sha256 } from './support/everyTool.mjs';
import { jwtPayload, makeSandbox } from './support/harness.mjs';
import {
  oidcProviderClient,
  serviceClient,
  serviceClientsOfEveryKind,
  SERVICE_SCOPE,
} from './support/serviceClients.mjs';

const RESOURCE = 'https://kms.example.com';
const TTL = 4;
const WRONG_SECRET = 'not-the-secret-of-svcBasic';

/** Counts token requests per client (HTTP Basic, or client_id / the assertion's iss in the body). */
function countPerClient(provider) {
  const counts = {};
  provider.setFault((ctx) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return;
    const basic = /^Basic (.+)$/.exec(ctx.headers.authorization ?? '')?.[1];
    const form = new URLSearchParams(ctx.request.body);
    const assertion = form.get('client_assertion');
    const id = basic
      ? decodeURIComponent(Buffer.from(basic, 'base64').toString().split(':')[0])
      : (form.get('client_id') ?? (assertion && jwtPayload(assertion).iss));
    counts[id] = (counts[id] ?? 0) + 1;
  });
  return counts;
}

/** A profile section for `service`: its secret, or its key written to a 0600 file (with a kid line). */
function serviceProfile(name, issuer, service, keyDir, extra = '') {
  const lines = [
    `[profiles.${name}]`,
    `client_id = "${service.clientId}"`,
    `issuer = "${issuer}"`,
    'grant = "client_credentials"',
    `scopes = ["${SERVICE_SCOPE}"]`,
    `resource = "${RESOURCE}"`,
    'store = "memory"',
  ];
  if (service.secret) {
    lines.push(`client_secret = "${service.secret}"`);
    lines.push(`token_endpoint_auth_method = "${service.auth}"`);
  } else {
    const file = join(keyDir, `${name}.pem`);
    const kidLine = service.kidInFile ? `kid: ${service.publicJwk.kid}\n` : '';
    writeFileSync(file, kidLine + service.privateKeyPem, { mode: 0o600 });
    lines.push(`private_key_file = "${file}"`);
  }
  return `${lines.join('\n')}\n${extra}\n`;
}

test('client credentials: every client authentication, no login, renewed while in use, every tool', async (t) => {
  const services = await serviceClientsOfEveryKind();
  const named = await serviceClient('svcNamed', 'private_key_jwt', {
    alg: 'EdDSA',
    kid: 'ci-2026',
  });
  named.kidInFile = true;
  const kinds = { ...services, named };
  delete kinds.bound;
  const keyDir = mkdtempSync(join(tmpdir(), 'kms-agent-keys-'));
  const sb = await makeSandbox({
    provider: {
      clientCredentialsTtl: TTL,
      resources: [RESOURCE],
      resourceScopes: [SERVICE_SCOPE],
      clients: Object.values(kinds).map(oidcProviderClient),
    },
    config: (issuer) => {
      const wrong = { ...kinds.basic, secret: WRONG_SECRET };
      return (
        'default_profile = "basic"\n' +
        Object.entries(kinds)
          .map(([name, service]) => serviceProfile(name, issuer, service, keyDir))
          .join('') +
        serviceProfile('wrong', issuer, wrong, keyDir) +
        serviceProfile('files', issuer, kinds.RS256, keyDir, 'token_file = true')
      );
    },
  });
  const requests = countPerClient(sb.provider);
  try {
    await t.test(
      'each client authentication gets a JWT for the client, with no login',
      async () => {
        for (const [name, service] of Object.entries(kinds)) {
          const r = await sb.token(['--profile', name, '--json']);
          assert.equal(r.code, 0, `${name}: ${r.stderr}`);
          const reply = JSON.parse(r.stdout);
          assert.equal(reply.token_type, 'Bearer');
          const claims = jwtPayload(reply.token);
          assert.equal(claims.client_id, service.clientId, name);
          assert.equal(claims.sub, service.clientId, name);
          assert.equal(claims.aud, RESOURCE);
          assert.equal(claims.scope, SERVICE_SCOPE);
          assert.ok(reply.expires_at - Date.now() / 1000 <= TTL);
        }
        assert.equal(sb.provider.stats.grants.authorization_code ?? 0, 0, 'no login anywhere');
        const login = await sb.cli(['login', '--profile', 'ES256']);
        assert.equal(login.code, 0, login.stderr);
        assert.match(
          login.stdout,
          /profile ES256 uses the client credentials grant: there is no login/,
        );
        const cached = await sb.token(['--profile', 'post']);
        assert.equal(requests.svcPost, 1, 'the second token of a profile is the cached one');
        assert.equal(cached.code, 0, cached.stderr);
      },
    );

    await t.test(
      "a refused client: exit 1 with the provider's words, never the secret",
      async () => {
        sb.rememberSecret(WRONG_SECRET);
        const r = await sb.token(['--profile', 'wrong']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /refused the client credentials of profile wrong \(.*invalid_client/,
        );
        assert.match(r.stderr, /check its client_id, client_secret or private_key_file/);
        const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
        const wrong = status.profiles.find((p) => p.name === 'wrong');
        assert.match(wrong.last_error, /token request failed/);
      },
    );

    await t.test('token --force: a new token now', async () => {
      const before = (await sb.token(['--profile', 'EdDSA'])).stdout;
      const forced = await sb.token(['--profile', 'EdDSA', '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.notEqual(forced.stdout, before);
      assert.equal(jwtPayload(forced.stdout.trim()).client_id, kinds.EdDSA.clientId);
    });

    await t.test('token files: written with no client asking', async () => {
      const file = join(sb.env.XDG_RUNTIME_DIR, 'kms-agent', 'tokens', 'files');
      const inFile = readFileSync(file, 'utf8');
      assert.equal(jwtPayload(inFile).client_id, kinds.RS256.clientId);
      const header = readFileSync(`${file}.header`, 'utf8');
      assert.match(header, /^Authorization: Bearer \S+\n$/);
    });

    await t.test(
      "every tool: exec, exec --ckms, kubectl and git get the client's token",
      async () => {
        const before = (await sb.token(['--profile', 'basic'])).stdout.trim();
        const tools = await everyTool(sb, 'basic');
        const after = (await sb.token(['--profile', 'basic'])).stdout.trim();
        for (const [tool, result] of Object.entries(tools)) {
          assert.equal(result.code, 0, `${tool}: ${result.stderr}`);
          if (tool === 'ckms') {
            assert.ok([before, after].map(sha256).includes(result.tokenSha256), 'ckms got it');
            continue;
          }
          sb.rememberSecret(result.token);
          const claims = jwtPayload(result.token);
          assert.equal(
            claims.client_id,
            kinds.basic.clientId,
            `${tool} presented the client's token`,
          );
          assert.equal(claims.aud, RESOURCE, tool);
        }
      },
    );

    await t.test('asked again before expiry while in use; not when idle', async () => {
      const first = (await sb.token(['--profile', 'basic'])).stdout;
      const asked = requests.svcBasic;
      const expiresAt = Date.now() + TTL * 1000;
      while (requests.svcBasic === asked && Date.now() < expiresAt) await sleep(50);
      assert.equal(requests.svcBasic, asked + 1, 'renewed in the background before expiry');
      assert.ok(Date.now() < expiresAt, 'before the token in use expired');
      const next = await sb.token(['--profile', 'basic']);
      assert.equal(next.code, 0, next.stderr);
      assert.notEqual(next.stdout, first, 'the renewed token');
      assert.equal(requests.svcBasic, asked + 1, 'served from the cache, no wait');
      // post was used twice at the start, long ago: renewed once since, then left alone.
      assert.ok(requests.svcPost <= 2, `${requests.svcPost} requests for an idle profile`);
    });
  } finally {
    await sb.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
});
