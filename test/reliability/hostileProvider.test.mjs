// A hostile provider (issue 10, findings 7 and 8; issue 11, point 3), played by
// test/support/hostileProvider.mjs: id_tokens that break a rule of docs/SECURITY.md in both modes
// (explicit endpoints and discovery), RFC 9207 `iss` in the authorization response, and a discovery
// document that names a plain-http endpoint on another host. Every bad answer is refused with one
// line naming the rule; a refresh's bad id_token is never served, but its rotated refresh token is
// stored; an expired id_token costs no refresh per call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { jwtPayload, profileToml, storeFileOf } from '../support/harness.mjs';
import { makeIsolatedSandbox, sleep, withSandbox } from '../support/reliability.mjs';
import { errorLine, HOSTILE_CLIENT_ID, startHostileProvider } from '../support/hostileProvider.mjs';

const EVIL_ISSUER = 'https://evil.example';
const now = () => Math.floor(Date.now() / 1000);

/** A sandbox whose profiles (name → keys) talk to hostile providers; logins go to its own listener port. */
function hostileSandbox(profiles) {
  return makeIsolatedSandbox({
    provider: null,
    profiles: (_issuer, redirectUrl) =>
      Object.entries(profiles)
        .map(([name, keys]) =>
          profileToml(name, undefined, { redirect_url: redirectUrl, store: 'file', ...keys }),
        )
        .join('\n'),
  });
}

/** Answers token requests of `grantType` with tokenResponse(request, options()), others as usual; returns the last reply. */
function answerGrant(provider, grantType, options = () => ({})) {
  const replies = [];
  provider.answerToken = async (request) => {
    if (request.grantType !== grantType) return undefined;
    const reply = await provider.tokenResponse(request, options());
    replies.push(reply.json);
    return reply;
  };
  return () => replies.at(-1);
}

const storedRefreshToken = (sb, profile) =>
  JSON.parse(readFileSync(storeFileOf(sb, profile), 'utf8')).refresh_token;

/** Several audiences (issue 20): the authorized party must be named, and be this client (OpenID Connect Core §3.1.3.7). */
const AZP_CASES = [
  {
    what: 'several audiences and no azp',
    id: () => ({ claims: { aud: [HOSTILE_CLIENT_ID, 'another-client'] } }),
    rule: /it names several audiences \(aud\) and no authorized party \(azp\)/,
  },
  {
    what: 'several audiences and azp another client',
    id: () => ({ claims: { aud: [HOSTILE_CLIENT_ID, 'another-client'], azp: 'another-client' } }),
    rule: /it was issued to another client \(azp "another-client"\)/,
  },
];

/** Id_tokens a login must refuse, and the words that name the rule. `issuerKnown`: only where the issuer is configured. */
const LOGIN_CASES = [
  { what: 'alg none', id: () => ({ alg: 'none' }), rule: /it is not signed \(alg "none"\)/ },
  {
    what: 'HS256 for a public client',
    id: () => ({ alg: 'HS256' }),
    rule: /alg HS256 is an HMAC keyed by the client secret, and this public client has none/,
  },
  {
    what: 'another audience',
    id: () => ({ claims: { aud: 'another-client' } }),
    rule: /its audience \(aud\) does not include this client_id/,
  },
  ...AZP_CASES,
  {
    what: 'a foreign nonce',
    id: () => ({ claims: { nonce: 'the-nonce-of-another-login' } }),
    rule: /its nonce is not the one this login sent/,
  },
  {
    what: 'no nonce',
    id: () => ({ claims: { nonce: undefined } }),
    rule: /its nonce is not the one this login sent/,
  },
  {
    what: 'already expired',
    id: () => ({ claims: { exp: now() - 30 } }),
    rule: /it had already expired when it arrived/,
  },
  {
    what: 'another issuer',
    id: () => ({ claims: { iss: EVIL_ISSUER } }),
    rule: /its issuer "https:\/\/evil\.example" is not this provider's issuer/,
    issuerKnown: true,
  },
];

/** Id_tokens a refresh brings that must never be served. */
const REFRESH_CASES = [
  { what: 'alg none', id: () => ({ alg: 'none' }), rule: /it is not signed \(alg "none"\)/ },
  { what: 'HS256 for a public client', id: () => ({ alg: 'HS256' }), rule: /alg HS256 is an HMAC/ },
  {
    what: 'another audience',
    id: () => ({ claims: { aud: 'another-client' } }),
    rule: /its audience \(aud\) does not include this client_id/,
  },
  ...AZP_CASES,
  {
    what: 'another subject',
    id: () => ({ claims: { sub: 'mallory' } }),
    rule: /its subject is not the one of this login/,
  },
  {
    what: "another issuer than the login's",
    id: () => ({ claims: { iss: EVIL_ISSUER } }),
    rule: /its issuer "https:\/\/evil\.example" is not this provider's issuer/,
  },
  {
    what: 'a foreign nonce',
    id: () => ({ claims: { nonce: 'the-nonce-of-another-login' } }),
    rule: /its nonce is not the one of this login/,
  },
  {
    what: 'already expired',
    id: () => ({ claims: { exp: now() - 30 } }),
    rule: /it had already expired when it arrived/,
  },
];

for (const mode of ['explicit', 'issuer']) {
  test(
    `id_token rules (${mode === 'issuer' ? 'discovery' : 'explicit-endpoint'} mode): bad ones refused at login, never served after a refresh, no refresh per call`,
    { timeout: 120_000 },
    async (t) => {
      const provider = await startHostileProvider();
      const sb = await hostileSandbox({ p: provider.profileKeys(mode) });
      await withSandbox(
        sb,
        t,
        async () => {
          const login = () => sb.cli(['login', '--profile', 'p']);
          const token = (...args) => sb.token(['--profile', 'p', ...args]);

          // Logins whose id_token breaks a rule: exit 3, one line naming the rule, nothing stored or served.
          for (const c of LOGIN_CASES.filter((c) => mode === 'issuer' || !c.issuerKnown))
            await t.test(`login refused: ${c.what}`, async (t) => {
              const exchanged = provider.tokenRequests('authorization_code').length;
              const lastReply = answerGrant(provider, 'authorization_code', c.id);
              const line = errorLine(await login(), 3);
              assert.match(
                line,
                /^kms-agent: login to profile p was refused by the agent: the provider's id_token was refused: /,
                `${c.what}: ${line}`,
              );
              assert.match(line, c.rule, `${c.what}: ${line}`);
              assert.equal(
                provider.tokenRequests('authorization_code').length,
                exchanged + 1,
                `${c.what}: the code was exchanged and the bad id_token received`,
              );
              const after = await token('--id');
              assert.equal(after.code, 5, `${c.what}: still not logged in (${after.stderr})`);
              assert.doesNotMatch(
                after.stdout + after.stderr,
                new RegExp(lastReply().id_token.split('.')[1]),
                `${c.what}: the bad id_token is not served`,
              );
              t.diagnostic(line);
            });

          await t.test('login accepted: several audiences with azp this client', async () => {
            answerGrant(provider, 'authorization_code', () => ({
              claims: { aud: [HOSTILE_CLIENT_ID, 'another-client'], azp: HOSTILE_CLIENT_ID },
            }));
            const r = await login();
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(jwtPayload((await token('--id')).stdout.trim()).aud, [
              HOSTILE_CLIENT_ID,
              'another-client',
            ]);
          });

          /** A good login whose id_token expires within 2 s; then the case's id_token on the next refresh. */
          const refreshWith = (c) =>
            t.test(`refresh: ${c.what} never served, rotated refresh token stored`, async (t) => {
              const loginReply = answerGrant(provider, 'authorization_code', () => ({
                lifetime: 2,
              }));
              const r = await login();
              assert.equal(r.code, 0, `login before "${c.what}": ${r.stderr}`);
              const loginRefreshToken = storedRefreshToken(sb, 'p');
              const idExp = jwtPayload(loginReply().id_token).exp;
              while (Date.now() / 1000 < idExp + 0.05) await sleep(50);
              const refreshReply = answerGrant(provider, 'refresh_token', c.id);
              const refreshes = provider.tokenRequests('refresh_token').length;
              const line = errorLine(await token('--id'), 5);
              assert.match(
                line,
                /no valid id_token for profile p: the provider's id_token was refused: /,
                `${c.what}: ${line}`,
              );
              assert.match(line, c.rule, `${c.what}: ${line}`);
              assert.equal(
                provider.tokenRequests('refresh_token').length,
                refreshes + 1,
                `${c.what}: one refresh`,
              );
              const rotated = refreshReply().refresh_token;
              assert.notEqual(rotated, loginRefreshToken);
              assert.equal(
                storedRefreshToken(sb, 'p'),
                rotated,
                `${c.what}: the rotated refresh token is stored`,
              );
              const access = await token('--access');
              assert.equal(access.code, 0, access.stderr);
              assert.equal(
                access.stdout.trim(),
                refreshReply().access_token,
                `${c.what}: the refresh's access token is served`,
              );
              const status = JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];
              assert.match(status.last_error ?? '', c.rule, `${c.what}: status says why`);
              t.diagnostic(line);
            });

          // In explicit mode the issuer is learned at the first good login; then another is refused at login too.
          if (mode === 'explicit') {
            await t.test("login refused: another issuer than the first login's", async () => {
              answerGrant(provider, 'authorization_code');
              assert.equal((await login()).code, 0);
              answerGrant(provider, 'authorization_code', () => ({ claims: { iss: EVIL_ISSUER } }));
              assert.match(
                errorLine(await login(), 3),
                /its issuer "https:\/\/evil\.example" is not this provider's issuer "http:\/\/127\.0\.0\.1:\d+\/realms\/hostile"/,
              );
            });
          }

          for (const c of REFRESH_CASES) await refreshWith(c);

          // The last case left an expired id_token from the provider: ~50 clients asking for it within a few
          // seconds cost no more than one further refresh (before the fix: one per call).
          await t.test('an expired id_token from the provider: no refresh per call', async (t) => {
            const refreshesBefore = provider.tokenRequests('refresh_token').length;
            const started = performance.now();
            const results = [];
            for (let i = 0; i < 10; i++)
              results.push(...(await Promise.all(Array.from({ length: 5 }, () => token('--id')))));
            const seconds = (performance.now() - started) / 1000;
            const extra = provider.tokenRequests('refresh_token').length - refreshesBefore;
            t.diagnostic(
              `${results.length} \`token --id\` calls in ${seconds.toFixed(1)} s after a refresh brought an expired id_token: ${extra} more refreshes`,
            );
            for (const r of results)
              assert.match(errorLine(r, 5), /it had already expired when it arrived/);
            assert.ok(
              extra <= 1,
              `at most one more refresh for ${results.length} calls (saw ${extra})`,
            );
          });
        },
        () => provider.close(),
      );
    },
  );
}

test(
  'RFC 9207: an iss is held to a known issuer only, never a guessed one; a mismatch says so',
  { timeout: 60_000 },
  async (t) => {
    const provider = await startHostileProvider();
    provider.sendIss = true;
    const sb = await hostileSandbox({
      fresh: provider.profileKeys('explicit'),
      disc: provider.profileKeys('issuer'),
    });
    await withSandbox(
      sb,
      t,
      async () => {
        // Explicit endpoints, no issuer known yet: the provider's iss (not the token URL's origin) is accepted.
        assert.notEqual(
          provider.issuer,
          new URL(provider.endpoints.token).origin,
          "the issuer is not the token URL's origin",
        );
        let r = await sb.cli(['login', '--profile', 'fresh']);
        assert.equal(
          r.code,
          0,
          `a first explicit-endpoint login with an RFC 9207 iss succeeds: ${r.stderr}`,
        );

        // The issuer is now known (from the id_token): an authorization response naming another is refused.
        const mixUp = (query, defaults) => ({ ...defaults, iss: EVIL_ISSUER });
        for (const profile of ['fresh', 'disc']) {
          provider.answerAuthorization = mixUp;
          const exchanged = provider.tokenRequests('authorization_code').length;
          const line = errorLine(await sb.cli(['login', '--profile', profile]), 3);
          assert.match(
            line,
            new RegExp(
              `login to profile ${profile} was refused by the agent: the authorization response comes from issuer "https://evil\\.example", not from this profile's provider http://127\\.0\\.0\\.1:\\d+/realms/hostile \\(RFC 9207\\)`,
            ),
          );
          assert.doesNotMatch(
            line,
            /unreachable|network/,
            'an issuer mix-up is never reported as a network problem',
          );
          assert.equal(
            provider.tokenRequests('authorization_code').length,
            exchanged,
            'the code was not sent to the token endpoint',
          );
          t.diagnostic(`${profile}: ${line}`);
          provider.answerAuthorization = undefined;
          r = await sb.cli(['login', '--profile', profile]);
          assert.equal(r.code, 0, `${profile}: the right iss is accepted: ${r.stderr}`);
        }

        // A provider whose discovery document promises an iss must send one.
        provider.discovery = { authorization_response_iss_parameter_supported: true };
        provider.sendIss = false;
        await sb.cli(['stop']);
        const line = errorLine(await sb.cli(['login', '--profile', 'disc']), 3);
        assert.match(
          line,
          /the authorization response has no issuer \(iss\), although .* says it always sends one \(RFC 9207\)/,
        );
      },
      () => provider.close(),
    );
  },
);

/**
 * A plain-http URL whose host is not loopback by name but reaches a server this test runs: the
 * machine's own host name, where /etc/hosts maps it to a loopback address (Debian: 127.0.1.1).
 * Without one, an unroutable address: nothing could arrive, and only the refusal is checked.
 */
async function observableForeignHost() {
  const name = hostname();
  const found = await lookup(name, { family: 4 }).catch(() => undefined);
  if (found && found.address.startsWith('127.') && name !== 'localhost')
    return { name, address: found.address };
  return { name: '10.255.255.1', address: undefined };
}

test(
  'discovery: a plain-http endpoint on another host is refused, and nothing is sent to it',
  { timeout: 60_000 },
  async (t) => {
    const provider = await startHostileProvider();
    const foreign = await observableForeignHost();
    const trap = foreign.address
      ? await startHostileProvider({ host: foreign.address })
      : undefined;
    const at = (path) => `http://${foreign.name}${trap ? `:${trap.port}` : ''}${path}`;
    t.diagnostic(
      `foreign host: ${at('/')}${trap ? ` (reaches a trap on ${foreign.address})` : ' (unroutable)'}`,
    );
    const sb = await hostileSandbox({ disc: provider.profileKeys('issuer') });
    await withSandbox(
      sb,
      t,
      async () => {
        for (const [name, path] of [
          ['token_endpoint', '/token'],
          ['revocation_endpoint', '/revoke'],
          ['device_authorization_endpoint', '/device'],
          ['authorization_endpoint', '/authorize'],
        ]) {
          provider.discovery = { [name]: at(path) };
          const line = errorLine(await sb.cli(['login', '--profile', 'disc']), 3);
          assert.match(
            line,
            new RegExp(`names ${name} ${at(path).replaceAll('.', '\\.')}: expected an https URL`),
            line,
          );
          t.diagnostic(`${name}: ${line}`);
        }
        assert.equal(
          provider.requests.filter((r) => r.path === '/authorize' || r.path === '/token').length,
          0,
          'no login went ahead',
        );

        // Logged in with a sound document, then the document changes: the refresh is refused too.
        provider.discovery = {};
        assert.equal((await sb.cli(['login', '--profile', 'disc'])).code, 0);
        provider.discovery = { token_endpoint: at('/token') };
        await sb.cli(['stop']);
        const refreshes = provider.tokenRequests('refresh_token').length;
        const line = errorLine(await sb.token(['--profile', 'disc']), 1);
        assert.match(
          line,
          new RegExp(
            `the identity provider of profile disc answered, but not acceptably: the discovery document of .* names token_endpoint ${at('/token').replaceAll('.', '\\.')}: expected an https URL`,
          ),
        );
        assert.equal(
          provider.tokenRequests('refresh_token').length,
          refreshes,
          'no refresh went to the real token endpoint either',
        );
        t.diagnostic(`refresh: ${line}`);
        assert.deepEqual(trap?.requests ?? [], [], 'nothing reached the plain-http endpoint');
      },
      () => Promise.all([provider.close(), trap?.close()]),
    );
  },
);

/** Tokens that would add a header line or drive a terminal where they are printed (openid-client refuses the token_type itself). */
const INJECTIONS = [
  {
    what: 'CR LF and a header in the access token',
    fields: { access_token: 'at-x\r\nX-Injected: 1' },
  },
  {
    what: 'an escape code in the access token',
    fields: { access_token: 'at-\x1b]52;c;cm0gLXJmIH4K\x07x' },
  },
  { what: 'a space in the access token', fields: { access_token: 'at-x X-Injected' } },
  {
    what: 'CR LF and a header in the token_type',
    fields: { token_type: 'Bearer\r\nX-Injected: 1' },
  },
];

test(
  "tokens with CR/LF or escape codes (issue 20, finding 2): a provider error, never in --header, a token file or exec's environment",
  { timeout: 90_000 },
  async (t) => {
    const provider = await startHostileProvider();
    const sb = await hostileSandbox({
      p: provider.profileKeys('explicit', { token: 'access', token_file: true }),
      idp: provider.profileKeys('explicit'),
    });
    const headerFile = join(dirname(sb.socketPath), 'tokens', 'p.header');
    /** Whatever the CLI printed, the token file holds and exec's command saw: never a line of the provider's. */
    const assertNotServed = (what, ...texts) => {
      for (const text of texts)
        assert.doesNotMatch(text, /X-Injected|\x1b|\r/, `${what}: ${JSON.stringify(text)}`);
    };
    const execSeen = () =>
      sb.cli([
        'exec',
        '--profile',
        'p',
        '--',
        process.execPath,
        '-e',
        'process.stdout.write(process.env.KMS_ACCESS_TOKEN ?? "unset")',
      ]);
    await withSandbox(
      sb,
      t,
      async () => {
        for (const c of INJECTIONS) {
          await t.test(`login refused: ${c.what}`, async () => {
            assert.equal((await sb.cli(['logout', '--profile', 'p'])).code, 0);
            answerGrant(provider, 'authorization_code', () => ({ fields: c.fields }));
            const line = errorLine(await sb.cli(['login', '--profile', 'p']), 3);
            assert.match(
              line,
              /login to profile p was refused by the agent: (the provider's access token holds characters a bearer token cannot have|unsupported operation: unsupported `token_type` value)/,
              line,
            );
            const header = await sb.token(['--profile', 'p', '--header']);
            assert.equal(header.code, 5, header.stderr);
            assertNotServed(c.what, header.stdout, (await execSeen()).stdout);
          });
          await t.test(`refresh refused: ${c.what}`, async () => {
            // A login whose access token expires at once; every refresh after it (the background one too) brings the case's.
            provider.answerToken = (request) =>
              provider.tokenResponse(request, {
                fields: request.grantType === 'authorization_code' ? { expires_in: 1 } : c.fields,
              });
            assert.equal((await sb.cli(['login', '--profile', 'p'])).code, 0);
            await sleep(1100);
            const refreshes = provider.tokenRequests('refresh_token').length;
            const header = await sb.token(['--profile', 'p', '--header']);
            const line = errorLine(header, 1);
            assert.match(
              line,
              /the identity provider of profile p answered, but not acceptably: (the provider's access token holds characters|unsupported operation: unsupported `token_type` value)/,
              line,
            );
            assert.ok(
              provider.tokenRequests('refresh_token').length > refreshes,
              'the refresh was made',
            );
            const exec = await execSeen();
            assert.notEqual(exec.code, 0, 'exec does not run its command without a token');
            assertNotServed(
              c.what,
              header.stdout,
              exec.stdout,
              existsSync(headerFile) ? readFileSync(headerFile, 'utf8') : '',
            );
          });
        }
        await t.test('an id_token that is not compact JWS: login refused', async () => {
          provider.answerToken = async (request) =>
            request.grantType === 'authorization_code'
              ? provider.tokenResponse(request, {
                  idToken: `${await provider.idToken(request)}\r\nX-Injected: 1`,
                })
              : undefined;
          const line = errorLine(await sb.cli(['login', '--profile', 'idp']), 3);
          assert.match(
            line,
            /the provider's id_token was refused: it is not a JWT in compact form/,
            line,
          );
          const id = await sb.token(['--profile', 'idp', '--header']);
          assert.equal(id.code, 5, id.stderr);
          assertNotServed('id_token', id.stdout);
        });
        await t.test('an id_token that is not compact JWS on refresh: never served', async () => {
          provider.answerToken = async (request) =>
            request.grantType === 'refresh_token'
              ? provider.tokenResponse(request, {
                  idToken: `${await provider.idToken(request)}\x1b[2J`,
                })
              : provider.tokenResponse(request, { lifetime: 1 });
          assert.equal((await sb.cli(['login', '--profile', 'idp'])).code, 0);
          await sleep(1100);
          const line = errorLine(await sb.token(['--profile', 'idp', '--header']), 5);
          assert.match(
            line,
            /no valid id_token for profile idp: the provider's id_token was refused: it is not a JWT in compact form/,
            line,
          );
        });
      },
      () => provider.close(),
    );
  },
);

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

test(
  'device flow (issue 20, finding 4): polls at most once a second, 5 s without an interval; only https or loopback pages shown; no device endpoint is exit 3',
  { timeout: 90_000 },
  async (t) => {
    const provider = await startHostileProvider();
    const sb = await hostileSandbox({
      p: provider.profileKeys('explicit'),
      disc: provider.profileKeys('issuer'),
    });
    const verify = `${provider.origin}/device/verify`;
    const deviceAnswer = (fields) => () => ({
      json: {
        device_code: 'dc-1',
        user_code: 'WDJB-MJHT',
        verification_uri: verify,
        expires_in: 3,
        ...fields,
      },
    });
    provider.answerToken = (request) =>
      request.grantType === DEVICE_GRANT
        ? { status: 400, json: { error: 'authorization_pending' } }
        : undefined;
    const polls = () => provider.tokenRequests(DEVICE_GRANT).length;
    await withSandbox(
      sb,
      t,
      async () => {
        for (const [what, fields, most] of [
          ['interval 0.001', { interval: 0.001 }, 3],
          ['no interval', {}, 0],
        ]) {
          await t.test(`${what}: at most ${most} polls while a 3 s code lasts`, async (t) => {
            provider.answerDevice = deviceAnswer(fields);
            const before = polls();
            const r = await sb.cli(['login', '--device', '--profile', 'p']);
            assert.equal(r.code, 4, `the code expired: ${r.stderr}`);
            const made = polls() - before;
            t.diagnostic(`${what}: ${made} polls in 3 s`);
            assert.ok(made <= most, `${what}: ${made} polls`);
          });
        }
        for (const [field, url] of [
          ['verification_uri', 'javascript:alert(1)'],
          ['verification_uri', 'http://evil.example/device'],
          ['verification_uri_complete', 'javascript:alert(document.cookie)'],
        ]) {
          await t.test(`${field} ${url}: refused, never shown`, async () => {
            provider.answerDevice = deviceAnswer({ [field]: url, interval: 1 });
            const r = await sb.cli(['login', '--device', '--profile', 'p']);
            const line = errorLine(r, 3);
            assert.match(
              line,
              new RegExp(`the provider's ${field} ".*" is no page to send a user to: expected an`),
              line,
            );
            assert.doesNotMatch(
              r.stderr.replace(line, ''),
              /javascript:|evil\.example/,
              'the link is not shown',
            );
          });
        }
        await t.test(
          'a provider whose discovery document has no device endpoint: exit 3, "offers no device flow"',
          async () => {
            provider.discovery = { device_authorization_endpoint: undefined };
            const line = errorLine(await sb.cli(['login', '--device', '--profile', 'disc']), 3);
            assert.match(
              line,
              /the provider of profile disc offers no device flow \(the discovery document of http:\/\/127\.0\.0\.1:\d+\/realms\/hostile names no device_authorization_endpoint\)/,
              line,
            );
            assert.doesNotMatch(
              line,
              /set device_authorization_url/,
              'no advice to set what is set',
            );
          },
        );
      },
      () => provider.close(),
    );
  },
);
