// Step-up (RFC 9470) at the local oidc-provider: with `acrValues` its dev login pages give a login
// the acr asked for (or `loginAcr`, a provider that cannot step up), and `max_age` puts auth_time
// in the id_token; checked with openid-client as a relying party.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as oidc from 'openid-client';

import { playAuthorization, playDeviceLogin } from '../dist/demo/browserPlayer.js';
import { LOCAL_PUBLIC_CLIENT_ID, startLocalProvider } from '../dist/demo/localProvider.js';
import { discover, logIn } from './support/relyingParty.mjs';

const LOW = 'urn:kms-agent:acr:password';
const HIGH = 'urn:kms-agent:acr:mfa';
const play = (url) => playAuthorization(url, { login: 'alice' });

async function withProvider(options, run) {
  const provider = await startLocalProvider(options);
  try {
    return await run(await discover(provider.issuer, LOCAL_PUBLIC_CLIENT_ID), provider);
  } finally {
    await provider.close();
  }
}

test('acrValues: discovery lists them; a login gets the acr asked for (else the first) and amr pwd', async () => {
  await withProvider({ acrValues: [LOW, HIGH] }, async (config) => {
    assert.deepEqual(config.serverMetadata().acr_values_supported, [LOW, HIGH]);
    const params = { acr_values: `urn:unknown ${HIGH}` };
    const stepUp = (await logIn(config, play, { params })).claims();
    assert.deepEqual([stepUp.acr, stepUp.amr], [HIGH, ['pwd']]);
    const plain = (await logIn(config, play)).claims();
    assert.equal(plain.acr, LOW);
    // The refreshed id_token keeps the login's acr.
    const tokens = await logIn(config, play, { params: { acr_values: HIGH } });
    assert.equal((await oidc.refreshTokenGrant(config, tokens.refresh_token)).claims().acr, HIGH);
  });
});

test('acrValues: a device login gets the acr asked for as well', async () => {
  await withProvider({ acrValues: [LOW, HIGH], deviceInterval: 1 }, async (config) => {
    const scope = 'openid email offline_access';
    const device = await oidc.initiateDeviceAuthorization(config, { scope, acr_values: HIGH });
    await playDeviceLogin(device.verification_uri_complete, { login: 'bob' });
    const claims = (await oidc.pollDeviceAuthorizationGrant(config, device)).claims();
    assert.deepEqual([claims.sub, claims.acr, claims.amr], ['bob', HIGH, ['pwd']]);
  });
});

test('loginAcr: every login gets that acr whatever was asked, as at a provider that cannot step up', async () => {
  await withProvider({ acrValues: [LOW, HIGH], loginAcr: LOW }, async (config) => {
    const claims = (await logIn(config, play, { params: { acr_values: HIGH } })).claims();
    assert.equal(claims.acr, LOW);
  });
});

test('max_age: the id_token carries auth_time, which openid-client checks; without acrValues there is no acr', async () => {
  await withProvider({}, async (config) => {
    const before = Math.floor(Date.now() / 1000);
    const params = { max_age: '300', acr_values: HIGH };
    const claims = (await logIn(config, play, { params, checks: { maxAge: 300 } })).claims();
    const fresh = claims.auth_time >= before - 1 && claims.auth_time <= claims.iat;
    assert.ok(fresh, `a fresh auth_time (${claims.auth_time}, iat ${claims.iat})`);
    assert.equal(claims.acr, undefined, 'the dev pages report no acr');
    assert.equal(claims.amr, undefined);
  });
});
