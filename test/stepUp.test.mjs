// Step-up (docs/configuration.md, RFC 9470): acr_values and max_age from the profile or from `login
// --acr --max-age` go on the authorization request; the id_token's acr and auth_time are checked;
// whoami shows acr, amr and auth_time. Against the local oidc-provider with acr values, through the
// CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { playDeviceLogin } from '../dist/demo/browserPlayer.js';
import { loginDevice } from './support/deviceLogin.mjs';
import { makeSandbox } from './support/harness.mjs';

const SILVER = 'urn:kms:silver';
const GOLD = 'urn:kms:gold';

async function whoami(sb) {
  const r = await sb.cli(['whoami', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('step-up: acr_values and max_age asked, acr and auth_time checked, shown by whoami', async () => {
  const sb = await makeSandbox({
    provider: { acrValues: [SILVER, GOLD], deviceInterval: 1 },
    profile: { store: 'file', acr_values: GOLD, max_age: 600 },
  });
  const asked = [];
  sb.provider.setFault((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      asked.push({ acr_values: ctx.query.acr_values, max_age: ctx.query.max_age });
    }
  });
  try {
    // The profile's step-up.
    await sb.login();
    assert.deepEqual(asked.at(-1), { acr_values: GOLD, max_age: '600' });
    let who = await whoami(sb);
    assert.equal(who.id_token.acr, GOLD);
    assert.deepEqual(who.id_token.amr, ['pwd']);
    const now = Date.now() / 1000;
    assert.ok(Math.abs(who.id_token.auth_time - now) < 30, `auth_time ${who.id_token.auth_time}`);
    const text = await sb.cli(['whoami']);
    assert.match(text.stdout, new RegExp(`^  acr +${GOLD}$`, 'm'));
    assert.match(text.stdout, /^ {2}amr +pwd$/m);
    assert.match(text.stdout, /^ {2}auth_time +\S/m);

    // login --acr --max-age: in place of the profile's, for this login.
    await sb.login(['--acr', `${SILVER} urn:kms:other`, '--max-age', '30']);
    assert.deepEqual(asked.at(-1), { acr_values: `${SILVER} urn:kms:other`, max_age: '30' });
    who = await whoami(sb);
    assert.equal(who.id_token.acr, SILVER);
    const before = await sb.token();
    assert.equal(before.code, 0, before.stderr);

    // A provider that logs in with another acr than asked (it has no "platinum"): refused, and
    // the login that was there stays.
    const weaker = await sb.cli(['login', '--acr', 'urn:kms:platinum']);
    assert.equal(weaker.code, 3, weaker.stderr);
    assert.match(
      weaker.stderr,
      /its acr is "urn:kms:silver", not one of the acr_values asked for \(urn:kms:platinum\)/,
    );
    assert.equal((await sb.token()).stdout, before.stdout, 'the previous login still serves');
    assert.equal((await whoami(sb)).id_token.acr, SILVER);

    // The device flow asks for it too: gold, not the provider's first acr (silver).
    const device = loginDevice(sb);
    await playDeviceLogin(await device.link);
    const done = await device.exit;
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await whoami(sb)).id_token.acr, GOLD);

    const bad = await sb.cli(['login', '--max-age', 'soon']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--max-age.*expected a number of seconds/);
  } finally {
    await sb.close();
  }
});
