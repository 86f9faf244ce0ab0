// dpop = true (docs/configuration.md, RFC 9449) through the built CLI, against the local
// oidc-provider with a client that must use DPoP and a server nonce, and the RFC 9449 resource
// server of test/support/dpopResourceServer.mjs: the key made at login is stored with it and never
// shown; every token request proves it; `token --dpop METHOD URL | curl -H @-` reaches the API,
// while a proof for another URL or method, a replayed one, or the token alone is refused there; the
// tools that take a token alone are refused, saying why. A client credentials profile too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { LOCAL_DPOP_CLIENT_ID } from '../dist/demo/localProvider.js';
import { startDpopResourceServer } from './support/dpopResourceServer.mjs';
import { everyTool } from './support/everyTool.mjs';
import { kmsAgentOnPath } from './support/binDir.mjs';
import { jwtPayload, makeSandbox, profileToml, storeFileOf } from './support/harness.mjs';
import { oidcProviderClient, serviceClient, SERVICE_SCOPE } from './support/serviceClients.mjs';

const API = 'https://kms.example.test/';

/** RFC 7638 thumbprint of a stored P-256 key's public part. */
const jktOf = ({ crv, kty, x, y }) =>
  createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');

/** Runs a shell line with `kms-agent` on PATH; resolves with {code, stdout, stderr}. */
function shell(sb, line, env = {}) {
  const PATH = kmsAgentOnPath(sb.dir);
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { env: { ...sb.env, PATH, ...env } }, (error, stdout, stderr) => {
      sb.logs.push(stderr);
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('DPoP: a key per login, proofs at the provider and for the API, tools refused', async (t) => {
  const service = await serviceClient('svcBound', 'client_secret_basic', { dpopBound: true });
  const sb = await makeSandbox({
    provider: {
      dpop: { requireNonce: true },
      resources: [API],
      clientCredentialsTtl: 60,
      clients: [oidcProviderClient(service)],
    },
    config: (issuer) =>
      'default_profile = "local"\n' +
      profileToml('local', issuer, {
        client_id: LOCAL_DPOP_CLIENT_ID,
        dpop: true,
        resource: API,
        store: 'file',
      }) +
      profileToml('service', issuer, {
        client_id: service.clientId,
        client_secret: service.secret,
        grant: 'client_credentials',
        dpop: true,
        resource: API,
        scopes: [SERVICE_SCOPE],
        store: 'memory',
      }) +
      profileToml('plain', issuer, { store: 'memory' }),
  });
  const api = await startDpopResourceServer({
    issuer: sb.provider.issuer,
    jwksUri: sb.provider.jwksUri,
    audience: API,
  });
  const grants = (type) => sb.provider.stats.grants[type] ?? 0;
  /** `token --dpop METHOD URL | curl -H @- URL` (curl's method and URL may differ from the proof's). */
  const curl = (proofFor, request = proofFor, profile = 'local') =>
    shell(sb, 'kms-agent token --profile "$P" --dpop "$HTM" "$HTU" | curl -sS -X "$M" -H @- "$U"', {
      P: profile,
      HTM: proofFor[0],
      HTU: proofFor[1],
      M: request[0],
      U: request[1],
    });
  try {
    let storedKey;
    await t.test('login: a new key stored with the login; the server nonce honoured', async () => {
      await sb.login();
      // The code exchange was refused once for want of the server's nonce, then retried with it.
      assert.equal(grants('authorization_code'), 2);
      const stored = JSON.parse(readFileSync(storeFileOf(sb), 'utf8'));
      storedKey = stored.dpop_key;
      assert.deepEqual(Object.keys(storedKey).sort(), ['crv', 'd', 'kty', 'x', 'y']);
      const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
      assert.deepEqual(status.profiles.find((p) => p.name === 'local').dpop, {
        jkt: jktOf(storedKey),
      });
      const text = (await sb.cli(['status'])).stdout;
      assert.match(text, new RegExp(`DPoP: tokens bound to the agent's key ${jktOf(storedKey)}`));
      assert.ok(!text.includes(storedKey.d), 'never the private key');
    });

    await t.test(
      'token --dpop | curl -H @-: the API takes the bound token with its proof',
      async () => {
        const url = `${api.url}keys/k1?version=2`;
        const r = await curl(['GET', url]);
        assert.equal(r.code, 0, r.stderr);
        const body = JSON.parse(r.stdout);
        assert.equal(body.accepted, true, body.reason);
        assert.equal(body.jkt, jktOf(storedKey), 'bound to the stored key');
        assert.equal(body.sub, 'alice');
        assert.equal(body.htu, `${api.url}keys/k1`, 'htu without the query');

        const lines = await sb.cli(['token', '--dpop', 'GET', url]);
        assert.equal(lines.code, 0, lines.stderr);
        const [authorization, proof, end] = lines.stdout.split('\n');
        assert.match(authorization, /^Authorization: DPoP [\w-]+\.[\w-]+\.[\w-]+$/);
        assert.match(proof, /^DPoP: [\w-]+\.[\w-]+\.[\w-]+$/);
        assert.equal(end, '');
        const token = authorization.slice('Authorization: DPoP '.length);
        sb.rememberSecret(token);
        assert.equal(jwtPayload(token).cnf.jkt, jktOf(storedKey));
        const claims = jwtPayload(proof.slice('DPoP: '.length));
        assert.equal(claims.htm, 'GET');
        assert.equal(claims.htu, `${api.url}keys/k1`);
        assert.equal(claims.ath, createHash('sha256').update(token).digest('base64url'));
        assert.equal(jwtPayload(token).exp > Date.now() / 1000, true);
      },
    );

    await t.test(
      'refused by the API: another URL, another method, a replay, no proof',
      async () => {
        const url = `${api.url}keys/k1`;
        const refused = async (label, result, reason) => {
          const body = JSON.parse(result.stdout);
          assert.equal(body.accepted, false, label);
          assert.match(body.reason, reason, label);
        };
        await refused('another URL', await curl(['GET', `${api.url}other`], ['GET', url]), /htu/);
        await refused('another method', await curl(['POST', url], ['GET', url]), /htm POST/);
        const headers = (await sb.cli(['token', '--dpop', 'GET', url])).stdout;
        const send = (text) =>
          shell(sb, 'printf %s "$H" | curl -sS -H @- "$U"', { H: text, U: url });
        assert.equal(JSON.parse((await send(headers)).stdout).accepted, true);
        await refused('a replayed proof', await send(headers), /used before/);
        await refused('the token alone', await send(headers.split('\n')[0]), /0 DPoP headers/);
        const asBearer = headers.split('\n')[0].replace('DPoP', 'Bearer');
        await refused(
          'the token as Bearer',
          await send(asBearer),
          /DPoP-bound token sent as Bearer/,
        );
      },
    );

    await t.test('token.get with dpop: the proof for htm, htu and the token', async () => {
      const reply = await sb.rpc('token.get', {
        dpop: { htm: 'DELETE', htu: `${api.url}keys/k1?x=1#f`, nonce: 'server-nonce-1' },
      });
      sb.rememberSecret(reply.token);
      assert.equal(reply.token_type, 'DPoP');
      const claims = jwtPayload(reply.dpop_proof);
      assert.deepEqual(
        [claims.htm, claims.htu, claims.nonce],
        ['DELETE', `${api.url}keys/k1`, 'server-nonce-1'],
      );
      await assert.rejects(sb.rpc('token.get', { dpop: { htm: 'get', htu: api.url } }), /htm/);
      await assert.rejects(sb.rpc('token.get', { dpop: { htm: 'GET', htu: 'kms' } }), /htu/);
    });

    await t.test(
      'a delegation of a DPoP profile: the delegate gets the bound token with a proof, never alone',
      async () => {
        const inside =
          'kms-agent token --dpop GET "$U" | curl -sS -H @- "$U"; echo; kms-agent token; echo "exit $?"';
        const r = await shell(sb, `kms-agent delegate --ttl 1m -- sh -c '${inside}'`, {
          U: `${api.url}keys/k1`,
        });
        assert.equal(r.code, 0, r.stderr);
        const [answer, exit] = r.stdout.trim().split('\n');
        assert.equal(JSON.parse(answer).accepted, true, answer);
        assert.equal(JSON.parse(answer).jkt, jktOf(storedKey));
        assert.equal(exit, 'exit 1', 'the token alone is refused through the delegation too');
        assert.match(r.stderr, /profile local uses DPoP .* --dpop METHOD URL/);
      },
    );

    await t.test('every tool that takes the token alone is refused, saying why', async () => {
      const plain = await sb.token();
      assert.equal(plain.code, 1);
      assert.equal(plain.stdout, '');
      assert.match(plain.stderr, /profile local uses DPoP .* --dpop METHOD URL/);
      const tools = await everyTool(sb, 'local');
      for (const [tool, result] of Object.entries(tools)) {
        assert.notEqual(result.code, 0, tool);
        assert.equal(result.token ?? result.tokenSha256, undefined, `${tool} got no token`);
        assert.match(result.stderr, /profile local uses DPoP \(dpop = true\)/, tool);
      }
      // Token files are refused in the config: the reload says why, the agent keeps its config.
      const config = readFileSync(sb.configPath, 'utf8');
      writeFileSync(sb.configPath, config.replace('dpop = true', 'dpop = true\ntoken_file = true'));
      const reload = await sb.cli(['reload']);
      assert.equal(reload.code, 1);
      assert.match(reload.stderr, /key "token_file": a DPoP token is useless without a proof/);
      writeFileSync(sb.configPath, config);
      assert.equal((await sb.cli(['reload'])).code, 0);
      const who = await sb.cli(['whoami']);
      assert.equal(who.code, 0, who.stderr);
      assert.match(who.stdout, new RegExp(`bound to +DPoP key ${jktOf(storedKey)}`));
    });

    await t.test(
      'after a restart the stored key proves the refresh (a bound refresh token)',
      async () => {
        assert.equal((await sb.cli(['stop'])).code, 0);
        const refreshes = grants('refresh_token');
        const r = await curl(['GET', api.url]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).jkt, jktOf(storedKey));
        assert.ok(grants('refresh_token') > refreshes, 'refreshed with the stored key');
      },
    );

    await t.test('a client credentials profile: a key in memory, the same proofs', async () => {
      const r = await curl(['GET', api.url], ['GET', api.url], 'service');
      const body = JSON.parse(r.stdout);
      assert.equal(body.accepted, true, body.reason);
      assert.equal(body.client_id, service.clientId);
      const plain = await sb.token(['--profile', 'service']);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /profile service uses DPoP/);
      const notDpop = await sb.cli(['token', '--profile', 'plain', '--dpop', 'GET', api.url]);
      assert.equal(notDpop.code, 1);
      assert.match(notDpop.stderr, /profile plain does not use DPoP/);
    });
  } finally {
    await api.close();
    await sb.close();
  }
});
