// RFC 8628 device login as a user drives it: `kms-agent login --device` runs as a child process,
// the test reads the link it prints and plays the user's browser on another "device".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { playDeviceLogin } from '../dist/demo/browserPlayer.js';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { loginDevice } from './support/deviceLogin.mjs';
import { jwtPayload, makeSandbox } from './support/harness.mjs';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** oidc-provider advertises no interval (clients would wait 5 s): the local provider is told to say 1 s. */
const INTERVAL = 1;

/** Records when each device-code poll reached the provider; `answer` may replace the provider's reply. */
function recordPolls(provider, answer = () => undefined) {
  const polls = [];
  let deviceAuthorizationAt;
  provider.setFault((ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/device/auth') deviceAuthorizationAt = Date.now();
    if (ctx.state.grantType !== DEVICE_GRANT) return undefined;
    polls.push(Date.now());
    return answer(polls.length);
  });
  return { polls, startedAt: () => deviceAuthorizationAt };
}

test('login --device prints the page, the code and the link; a browser elsewhere approves; exit 0', async () => {
  const sb = await makeSandbox({
    provider: { deviceInterval: INTERVAL },
    profile: { store: 'file' },
  });
  try {
    const { polls, startedAt } = recordPolls(sb.provider);
    const login = loginDevice(sb);
    const link = await login.link;
    const userCode = new URL(link).searchParams.get('user_code');
    assert.ok(userCode, 'the link carries the user code');
    const printed = login.stderr();
    assert.match(
      printed,
      new RegExp(`open this page on any device:\\n {2}${sb.provider.issuer}/device\\n`),
    );
    assert.ok(printed.includes(`and enter the code: ${userCode}\n`), printed);
    assert.match(printed, /The code expires in 10 minutes\./);

    await playDeviceLogin(link, { login: 'carol' });
    const done = await login.exit;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'logged in to profile local as carol@example.com\n');
    // Polling waited the advertised interval before asking.
    assert.ok(
      polls[0] - startedAt() >= INTERVAL * 1000 - 10,
      `first poll after ${polls[0] - startedAt()} ms`,
    );

    const token = await sb.token();
    assert.equal(token.code, 0, token.stderr);
    assert.equal(jwtPayload(token.stdout.trim()).sub, 'carol');
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.equal(status.profiles[0].has_refresh_token, true);
  } finally {
    await sb.close();
  }
});

test('device login with an explicit device_authorization_url; denied on the verification page: exit 3', async () => {
  const sb = await makeSandbox({
    provider: { deviceInterval: INTERVAL },
    config: (issuer) => `[profiles.plain]
client_id = "${LOCAL_PUBLIC_CLIENT_ID}"
authorize_url = "${issuer}/auth"
token_url = "${issuer}/token"
device_authorization_url = "${issuer}/device/auth"
store = "memory"
`,
  });
  try {
    const login = loginDevice(sb);
    await playDeviceLogin(await login.link, { deny: true });
    const done = await login.exit;
    assert.equal(done.code, 3, done.stderr);
    assert.equal(done.stdout, '');
    assert.match(
      done.stderr,
      /login to profile plain was refused at the identity provider \(access_denied/,
    );
    assert.match(done.stderr, /run `kms-agent login --device --profile plain` again/);
    assert.equal(
      sb.provider.stats.byPath['/.well-known/openid-configuration'],
      undefined,
      'no discovery without issuer',
    );
    assert.equal((await sb.token()).code, 5, 'still not logged in');
  } finally {
    await sb.close();
  }
});

test('a device code that expires before anyone approves it: exit 4 and what to do', async () => {
  const sb = await makeSandbox({
    provider: { deviceInterval: INTERVAL, deviceCodeTtl: 2 },
    profile: { store: 'memory' },
  });
  try {
    const started = Date.now();
    const done = await loginDevice(sb).exit;
    assert.equal(done.code, 4, done.stderr);
    assert.match(
      done.stderr,
      /the device code for profile local expired before the login was approved: run `kms-agent login --device --profile local` again/,
    );
    assert.ok(Date.now() - started < 15_000, 'gave up when the code expired');
    // The agent still answers, and the login did not leave anything behind.
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.equal(status.profiles[0].logged_in, false);
    assert.equal(status.profiles[0].login_pending, undefined);
  } finally {
    await sb.close();
  }
});

test('slow_down adds 5 s to the polling interval (RFC 8628 §3.5)', async () => {
  const sb = await makeSandbox({
    provider: { deviceInterval: INTERVAL },
    profile: { store: 'memory' },
  });
  try {
    const slowDownOnce = (n) =>
      n === 1
        ? { status: 400, body: { error: 'slow_down', error_description: 'test asks to back off' } }
        : undefined;
    const { polls } = recordPolls(sb.provider, slowDownOnce);
    const login = loginDevice(sb);
    await playDeviceLogin(await login.link);
    const done = await login.exit;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(polls.length, 2, 'one poll answered slow_down, the next one got the tokens');
    // 10 ms of slack for timer rounding; the gap also includes the first poll's round trip.
    const gap = polls[1] - polls[0];
    assert.ok(gap >= (INTERVAL + 5) * 1000 - 10, `second poll ${gap} ms after the first`);
  } finally {
    await sb.close();
  }
});
