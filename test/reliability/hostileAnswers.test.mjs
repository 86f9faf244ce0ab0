// What a hostile provider sends (issue 10, findings 6 and 10, and echoed secrets), played by
// test/support/hostileProvider.mjs: answers over 1 MiB (up to 200 MB streamed) and tokens over
// 60 KiB are refused while the daemon's memory stays bounded; absurd lifetimes are clamped and start
// no refresh storm; terminal control sequences in anything the provider wrote never reach a
// terminal; a provider that echoes the refresh token or client secret, URL-encoded or not, does
// not make the agent repeat it anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { profileToml, startForeground } from '../support/harness.mjs';
import {
  cpuSeconds,
  makeIsolatedSandbox,
  rssKiB,
  sleep,
  stopChild,
  withSandbox,
} from '../support/reliability.mjs';
import {
  errorLine,
  startHostileProvider,
  TERMINAL_ATTACK,
  terminalControls,
} from '../support/hostileProvider.mjs';

const MiB = 1024 * 1024;
const YEAR = 365 * 86_400;

/** A sandbox whose profiles (name → keys) use the provider's explicit endpoints and the file store. */
function hostileSandbox(provider, profiles, env = {}) {
  return makeIsolatedSandbox({
    provider: null,
    env,
    profiles: (_issuer, redirectUrl) =>
      Object.entries(profiles)
        .map(([name, keys]) =>
          profileToml(
            name,
            undefined,
            provider.profileKeys('explicit', { redirect_url: redirectUrl, store: 'file', ...keys }),
          ),
        )
        .join('\n'),
  });
}

/** Answers the next token requests of `grantType` with `reply(request)`; others as usual. */
function answer(provider, grantType, reply) {
  provider.answerToken = (request) =>
    request.grantType === grantType ? reply(request) : undefined;
}

/** Samples a process's RSS every 20 ms while `fn` runs: { value, peakKiB }. */
async function peakRss(pid, fn) {
  let peakKiB = rssKiB(pid);
  const timer = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB(pid))), 20);
  try {
    return { value: await fn(), peakKiB: Math.max(peakKiB, rssKiB(pid)) };
  } finally {
    clearInterval(timer);
  }
}

test(
  'bounds: answers over 1 MiB and tokens over 60 KiB refused, memory bounded, absurd lifetimes clamped without a refresh storm',
  { timeout: 120_000 },
  async (t) => {
    const provider = await startHostileProvider();
    const sb = await hostileSandbox(provider, { big: {}, huge: {}, long: {}, plain: {} });
    let agent;
    const figures = {};
    await withSandbox(
      sb,
      t,
      async () => {
        agent = await startForeground(sb);
        const pid = agent.child.pid;
        const login = (profile) => sb.cli(['login', '--profile', profile]);
        const tooLarge =
          /the provider's answer from http:\/\/127\.0\.0\.1:\d+ is over 1 MiB and was refused/;

        await t.test(
          'a 2 MB token response is refused, with its length declared or not',
          async () => {
            const body = JSON.stringify({
              access_token: 'a'.repeat(2 * MiB),
              token_type: 'Bearer',
              expires_in: 3600,
            });
            answer(provider, 'authorization_code', () => ({
              body,
              headers: {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(body)),
              },
            }));
            assert.match(errorLine(await login('big'), 3), tooLarge);
            answer(provider, 'authorization_code', () => ({ stream: 2 * MiB }));
            assert.match(errorLine(await login('big'), 3), tooLarge);
          },
        );

        await t.test(
          '200 MB streamed, at login and on refresh: refused after 1 MiB; RSS stays bounded',
          async (t) => {
            const baseline = rssKiB(pid);
            provider.sent.bytes = 0;
            answer(provider, 'authorization_code', () => ({ stream: 200 * MiB }));
            const atLogin = await peakRss(pid, () => login('big'));
            figures.loginSentMiB = provider.sent.bytes / MiB;
            t.diagnostic(
              `200 MB at login: the provider got ${figures.loginSentMiB.toFixed(1)} MiB out; daemon RSS ${(baseline / 1024).toFixed(0)} MiB before, peak ${(atLogin.peakKiB / 1024).toFixed(0)} MiB`,
            );
            assert.match(errorLine(atLogin.value, 3), tooLarge);

            // Logged in, then a refresh is answered with 200 MB: the cached token is still served, status says why.
            answer(provider, 'authorization_code', (request) => provider.tokenResponse(request));
            assert.equal((await login('big')).code, 0);
            const cached = await sb.rpc('token.get', { profile: 'big', kind: 'access' });
            provider.sent.bytes = 0;
            answer(provider, 'refresh_token', () => ({ stream: 200 * MiB }));
            const onRefresh = await peakRss(pid, () =>
              sb.rpc('token.get', { profile: 'big', kind: 'access', min_valid: 3600 }),
            );
            assert.equal(onRefresh.value.token, cached.token, 'the still-valid token is served');
            const status = (await sb.rpc('agent.status', {})).profiles.find(
              (p) => p.name === 'big',
            );
            assert.match(status.last_error, tooLarge);
            figures.refreshSentMiB = provider.sent.bytes / MiB;
            figures.rss = {
              baselineMiB: baseline / 1024,
              peakMiB: Math.max(atLogin.peakKiB, onRefresh.peakKiB) / 1024,
            };
            const growthMiB = figures.rss.peakMiB - figures.rss.baselineMiB;
            t.diagnostic(
              `200 MB answers: the provider got ${figures.loginSentMiB.toFixed(1)} MiB out at login, ${figures.refreshSentMiB.toFixed(1)} MiB on refresh before the agent hung up; ` +
                `daemon RSS ${figures.rss.baselineMiB.toFixed(0)} MiB before, peak ${figures.rss.peakMiB.toFixed(0)} MiB (+${growthMiB.toFixed(1)} MiB)`,
            );
            assert.ok(
              figures.loginSentMiB < 20 && figures.refreshSentMiB < 20,
              'the agent stopped reading soon after 1 MiB',
            );
            assert.ok(
              growthMiB < 48,
              `RSS grew by ${growthMiB.toFixed(1)} MiB for a 200 MB answer`,
            );
          },
        );

        await t.test(
          'an access token or id_token over 60 KiB is refused; one under 60 KiB is served whole',
          async () => {
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, { fields: { access_token: 'a'.repeat(100 * 1024) } }),
            );
            assert.match(
              errorLine(await login('big'), 3),
              /the provider's access token is 100 KiB, more than the 60 KiB the agent can serve/,
            );
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, { claims: { padding: 'p'.repeat(80 * 1024) } }),
            );
            assert.match(
              errorLine(await login('big'), 3),
              /the provider's id_token is \d+ KiB, more than the 60 KiB the agent can serve/,
            );
            const largest = 'a'.repeat(59 * 1024);
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, { fields: { access_token: largest } }),
            );
            assert.equal((await login('big')).code, 0);
            const served = await sb.token(['--profile', 'big', '--access']);
            assert.equal(served.stdout.trim(), largest, 'a 59 KiB token crosses the socket whole');
          },
        );

        await t.test(
          'expires_in 1e12 and exp 1e13: clamped to a year; status works for every profile; no refresh storm',
          async (t) => {
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, {
                fields: { expires_in: 1e12 },
                claims: { exp: 1e13 },
              }),
            );
            assert.equal((await login('huge')).code, 0);
            const refreshes = provider.tokenRequests('refresh_token').length;
            const started = Date.now();
            let calls = 0;
            while (Date.now() - started < 3000) {
              for (const kind of ['id', 'access']) {
                const reply = await sb.rpc('token.get', { profile: 'huge', kind });
                assert.ok(
                  reply.expires_at <= Date.now() / 1000 + YEAR + 5,
                  `${kind}: expires_at clamped to a year (${reply.expires_at})`,
                );
                calls++;
              }
              await sleep(50);
            }
            const status = await sb.cli(['status']);
            assert.equal(status.code, 0, status.stderr);
            for (const name of ['big', 'huge', 'long', 'plain'])
              assert.match(status.stdout, new RegExp(`^profile ${name}: `, 'm'));
            assert.match(
              status.stdout,
              /^profile huge: logged in as alice@example\.com\n {2}token: valid for 36[45]d/m,
            );
            const json = await sb.cli(['status', '--json']);
            assert.equal(json.code, 0, json.stderr);
            assert.equal(JSON.parse(json.stdout).profiles.length, 4);
            const storm = provider.tokenRequests('refresh_token').length - refreshes;
            t.diagnostic(
              `${calls} token.get calls over 3 s with expires_in 1e12: ${storm} refreshes`,
            );
            assert.equal(storm, 0, 'no refresh while the token is valid');
          },
        );

        await t.test(
          'a 30-day lifetime (over the 24.8-day timer limit) does not fire the refresh timer at once',
          async (t) => {
            const days30 = 30 * 86_400;
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, { fields: { expires_in: days30 }, lifetime: days30 }),
            );
            assert.equal((await login('long')).code, 0);
            const refreshes = provider.tokenRequests('refresh_token').length;
            // Used, so the background refresh would run if its timer fired.
            for (const kind of ['id', 'access'])
              await sb.rpc('token.get', { profile: 'long', kind });
            const cpuBefore = cpuSeconds(pid);
            await sleep(3000);
            const cpu = cpuSeconds(pid) - cpuBefore;
            const fired = provider.tokenRequests('refresh_token').length - refreshes;
            t.diagnostic(
              `30-day tokens, in use, over 3 s: ${fired} refreshes, ${cpu.toFixed(2)} s of daemon CPU`,
            );
            assert.equal(fired, 0);
            // A delay over the limit makes setTimeout fire after 1 ms, with a warning each time.
            assert.doesNotMatch(agent.stderr(), /TimeoutOverflowWarning/);
            assert.ok(cpu < 0.5, `the daemon stayed idle (${cpu.toFixed(2)} s of CPU in 3 s)`);
          },
        );
        assert.equal(agent.child.exitCode, null, 'the daemon is still running');
        console.log(`# hostileAnswers bounds: ${JSON.stringify(figures)}`);
      },
      () => Promise.all([stopChild(agent?.child), provider.close()]),
    );
  },
);

test(
  'terminal controls from the provider never reach a terminal: denial, token errors, device codes, last_error, claims',
  { timeout: 90_000 },
  async (t) => {
    const provider = await startHostileProvider();
    const sb = await hostileSandbox(provider, { ctl: {} });
    await withSandbox(
      sb,
      t,
      async () => {
        const login = (...args) => sb.cli(['login', '--profile', 'ctl', ...args]);
        /** The visible part of TERMINAL_ATTACK survives: the message still quotes the provider. */
        const quoted = /evil(\\+u001b)?\]52;c;cm0gLXJmIH4K/;

        await t.test('login denied with an error_description in the redirect', async () => {
          provider.answerAuthorization = (query) => ({
            state: query.state,
            error: 'access_denied',
            error_description: TERMINAL_ATTACK,
          });
          const line = errorLine(await login(), 3);
          assert.match(
            line,
            /login to profile ctl was refused by the identity provider \(access_denied: evil/,
          );
          assert.match(line, quoted);
          provider.answerAuthorization = undefined;
        });

        await t.test('the token endpoint refuses the code, in JSON and in plain text', async () => {
          answer(provider, 'authorization_code', () => ({
            status: 400,
            json: { error: 'invalid_request', error_description: TERMINAL_ATTACK },
          }));
          assert.match(errorLine(await login(), 3), quoted);
          answer(provider, 'authorization_code', () => ({ status: 403, body: TERMINAL_ATTACK }));
          assert.match(errorLine(await login(), 3), quoted);
        });

        await t.test(
          'a device user_code and verification_uri with control characters',
          async () => {
            const verify = `${provider.origin}/device\x1b]52;c;cm0gLXJmIH4K\x07`;
            provider.answerDevice = () => ({
              json: {
                device_code: 'dc-1',
                user_code: 'WDJB\x1b[2J-\u202eMJHT',
                verification_uri: verify,
                verification_uri_complete: `${verify}?user_code=\u2066X`,
                expires_in: 60,
                interval: 1,
              },
            });
            answer(provider, 'urn:ietf:params:oauth:grant-type:device_code', () => ({
              status: 400,
              json: { error: 'access_denied', error_description: TERMINAL_ATTACK },
            }));
            const r = await login('--device');
            const line = errorLine(r, 3);
            assert.match(r.stderr, /enter the code: WDJB\[2J-MJHT/);
            assert.match(r.stderr, /\/device\]52;c;cm0gLXJmIH4K/);
            assert.match(line, quoted);
          },
        );

        await t.test(
          'last_error in status and status --json, after refreshes the provider answered with control characters',
          async () => {
            answer(provider, 'authorization_code', (request) => provider.tokenResponse(request));
            assert.equal((await login()).code, 0);
            // An outage (500): the cached token is still served; status says why.
            answer(provider, 'refresh_token', () => ({
              status: 500,
              json: { error: 'server_error', error_description: TERMINAL_ATTACK },
            }));
            const served = await sb.token(['--profile', 'ctl', '--access', '--min-valid', '3600']);
            assert.equal(served.code, 0, served.stderr);
            for (const args of [['status'], ['status', '--json']]) {
              const r = await sb.cli(args);
              assert.equal(r.code, 0, r.stderr);
              assert.deepEqual(
                terminalControls(r.stdout + r.stderr),
                [],
                `${args.join(' ')}: ${r.stdout}`,
              );
              assert.match(r.stdout, quoted);
            }
            // The login ends (400): the client is told with the provider's words, and so is status.
            answer(provider, 'refresh_token', () => ({
              status: 400,
              json: { error: 'invalid_grant', error_description: TERMINAL_ATTACK },
            }));
            assert.match(
              errorLine(await sb.token(['--profile', 'ctl', '--access', '--min-valid', '3600']), 5),
              quoted,
            );
            for (const args of [['status'], ['status', '--json']]) {
              const r = await sb.cli(args);
              assert.deepEqual(
                terminalControls(r.stdout + r.stderr),
                [],
                `${args.join(' ')}: ${r.stdout}`,
              );
              assert.match(r.stdout, /login ended at the provider/);
            }
          },
        );

        await t.test(
          'a subject and email with control characters, shown by login and status',
          async () => {
            answer(provider, 'authorization_code', (request) =>
              provider.tokenResponse(request, {
                claims: {
                  sub: `alice${TERMINAL_ATTACK}`,
                  email: `alice${TERMINAL_ATTACK}@example.com`,
                },
              }),
            );
            const r = await login();
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(
              terminalControls(r.stdout + r.stderr),
              [],
              `login: ${JSON.stringify(r.stdout)}`,
            );
            for (const args of [['status'], ['status', '--json']]) {
              const s = await sb.cli(args);
              assert.deepEqual(
                terminalControls(s.stdout + s.stderr),
                [],
                `${args.join(' ')}: ${JSON.stringify(s.stdout)}`,
              );
            }
          },
        );
      },
      () => provider.close(),
    );
  },
);

/**
 * Every form a value takes when a provider echoes it: as is, encodeURIComponent, form encoding (+ for
 * space), both with lower-case hex, JSON-escaped, hex in either case, base64 and base64url (issue
 * 20), each with "/" as "\/" too, as PHP writes it.
 */
function echoedForms(value) {
  const lower = (text) => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
  const bytes = Buffer.from(value);
  const url = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const json = JSON.stringify(value).slice(1, -1);
  const hex = bytes.toString('hex');
  const forms = [
    value,
    url,
    form,
    lower(url),
    lower(form),
    json,
    hex,
    hex.toUpperCase(),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ];
  return [...new Set(forms.flatMap((text) => [text, text.replaceAll('/', '\\/')]))];
}

test(
  'echoed secrets: a provider that repeats the refresh token or client secret, URL-encoded, hex or base64 or not, is not repeated',
  { timeout: 60_000 },
  async (t) => {
    const provider = await startHostileProvider();
    // Characters that each encoding writes differently: space, +, /, =, &, %, ~, *, ', (, ), !, é, \, ".
    const special = ' +/=&%~*\'()!é\\"';
    const unique = (prefix) => `${prefix}${special}${Math.random().toString(36).slice(2)}`;
    const clientSecret = unique('cs');
    const sb = await hostileSandbox(
      provider,
      { conf: { client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_post' } },
      { KMS_AGENT_LOG_LEVEL: 'trace' },
    );
    await withSandbox(
      sb,
      t,
      async () => {
        const secrets = new Set([clientSecret]);
        /**
         * Echoes one value the agent sent, in every form, and its whole form body, in the error
         * description; a 5xx answer (quoted as raw text) is JSON written the PHP way ("/" as "\/").
         */
        const echo = (status, field) => (request) => {
          const value = request.form[field];
          secrets.add(value);
          const json = {
            error: status < 500 ? 'invalid_request' : 'server_error',
            error_description: `${echoedForms(value).join(' , ')} (you sent ${new URLSearchParams(request.form)})`,
          };
          return status < 500
            ? { status, json }
            : {
                status,
                body: JSON.stringify(json).replaceAll('/', '\\/'),
                headers: { 'content-type': 'application/json' },
              };
        };
        const outputs = [];
        const run = async (args, exitCode) => {
          const r = await sb.cli(args);
          assert.equal(r.code, exitCode, `${args.join(' ')}: ${r.stderr}`);
          outputs.push(`$ ${args.join(' ')}\n${r.stdout}${r.stderr}`);
          if (args[0] === 'token')
            for (const status of [['status'], ['status', '--json']])
              outputs.push((await sb.cli(status)).stdout);
        };
        const login = () => {
          answer(provider, 'authorization_code', (request) =>
            provider.tokenResponse(request, { refreshToken: unique('rt') }),
          );
          return run(['login', '--profile', 'conf'], 0);
        };
        const refresh = ['token', '--profile', 'conf', '--access', '--min-valid', '3600'];

        // The code exchange echoes the code, the verifier, the secret: the login fails, quoting none of them.
        for (const field of ['code', 'code_verifier', 'client_secret']) {
          answer(provider, 'authorization_code', echo(400, field));
          await run(['login', '--profile', 'conf'], 3);
        }
        // Refreshes echo the refresh token or the secret: an outage (the cached token is served), then a refusal (login required).
        await login();
        for (const field of ['refresh_token', 'client_secret']) {
          answer(provider, 'refresh_token', echo(500, field));
          await run(refresh, 0);
        }
        for (const field of ['refresh_token', 'client_secret']) {
          await login();
          answer(provider, 'refresh_token', echo(400, field));
          await run(refresh, 5);
        }
        assert.ok(
          provider.tokenRequests().every((r) => r.form.client_secret === clientSecret),
          'the secret went out in every form body',
        );

        const log = existsSync(sb.logPath) ? readFileSync(sb.logPath, 'utf8') : '';
        assert.ok(log.length > 0, 'the agent logged');
        const seen = outputs.join('\n') + log;
        const leaks = [...secrets].flatMap((s) =>
          echoedForms(s)
            .filter((form) => seen.includes(form))
            .map((form) => `${s.slice(0, 4)}… as ${JSON.stringify(form)}`),
        );
        t.diagnostic(
          `${secrets.size} secrets × ${echoedForms(clientSecret).length} forms checked in ${outputs.length} outputs and ${log.length} bytes of agent.log`,
        );
        for (const s of secrets) sb.rememberSecret(s);
        assert.deepEqual(leaks, [], 'no form of a secret in agent.log, stderr or status');
        assert.match(
          seen,
          /\[redacted\] , \[redacted\]/,
          "the provider's words are quoted, with the secrets cut out",
        );
      },
      () => provider.close(),
    );
  },
);
