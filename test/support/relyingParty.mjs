// What the harness tests of the providers do as a plain relying party with openid-client:
// discovery over loopback http, and a whole login (PKCE S256, state and nonce) played by a fake
// browser, for either provider.
import * as oidc from 'openid-client';

export const REDIRECT_URI = 'http://localhost:17899/authorization';

export function discover(issuer, clientId, auth = oidc.None()) {
  const options = { execute: [oidc.allowInsecureRequests] };
  return oidc.discovery(new URL(issuer), clientId, undefined, auth, options);
}

/**
 * Logs in: `play(authorizationUrl)` plays the browser and resolves with the callback URL. Options:
 * scope (default openid email offline_access), params (more authorization request parameters),
 * tokenParams (more code exchange parameters: oidc-provider gives a JWT for a `resource` only
 * when the code exchange names it too), checks (more openid-client checks, e.g. maxAge), DPoP
 * (a handle for the code exchange).
 */
export async function logIn(config, play, options = {}) {
  const { scope = 'openid email offline_access', params = {}, tokenParams, checks = {} } = options;
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  const callback = new URL(await play(url.href));
  const expected = { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce };
  return oidc.authorizationCodeGrant(config, callback, { ...expected, ...checks }, tokenParams, {
    DPoP: options.DPoP,
  });
}

/** A GET to a resource as openid-client makes it with a DPoP handle (one retry on a nonce). */
export function getWithDpop(config, accessToken, url, DPoP) {
  const options = { DPoP };
  return oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', null, null, options);
}

/** A JWT's payload, unverified (the tests verify signatures where it matters). */
export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

export function headerOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}
