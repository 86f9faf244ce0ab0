// Configures a fresh Glewlwyd through its admin REST API (as its admin web app does): the scopes,
// an OpenID Connect plugin instance, a public and a confidential client, and users.
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { addGrantClients, grantParameters, grantScopes } from './glewlwydGrants.mjs';

/** The plugin instance's name: its endpoints live under /api/PLUGIN and its issuer is ORIGIN/api/PLUGIN. */
export const PLUGIN = 'oidc';
export const PUBLIC_CLIENT_ID = 'kms-agent-test';
// Letters and digits only: Glewlwyd does not form-decode HTTP Basic credentials (RFC 6749 §2.3.1),
// and openid-client encodes every other character, so `kms-agent…` arrives as `kms%2Dagent…`.
export const CONFIDENTIAL_CLIENT_ID = 'kmsAgentConfidential';
export const CLIENT_SECRET = 'testSecretKmsAgentConfidential0123';
const SCOPES = ['openid', 'email', 'offline_access'];
const DEVICE_CODE_TTL = 600;

/** The package's initial database has one administrator, admin/password. */
export async function adminSession(base) {
  let cookie = '';
  async function call(method, path, body) {
    const response = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', cookie },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`glewlwyd admin API: ${method} ${path} answered ${response.status} ${text}`);
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) cookie = setCookie.split(';')[0];
    return text ? JSON.parse(text) : undefined;
  }
  await call('POST', '/api/auth/', { username: 'admin', password: 'password' });
  return call;
}

/** Everything a test needs, from settings already filled with their defaults; returns the signing key's kid. */
export async function configureProvider(call, settings) {
  // A scope without password_required could be had by naming a user: every scope needs the password.
  await call('PUT', '/api/scope/openid', {
    name: 'openid',
    display_name: 'Open ID',
    description: 'OpenID Connect',
    password_required: true,
    password_max_age: 0,
    scheme: {},
  });
  for (const name of ['email', 'offline_access', ...grantScopes(settings)]) {
    await call('POST', '/api/scope/', {
      name,
      display_name: name,
      description: name,
      password_required: true,
      password_max_age: 0,
      scheme: {},
    });
  }
  const kid = randomUUID();
  await call('POST', '/api/mod/plugin/', {
    module: 'oidc',
    name: PLUGIN,
    display_name: 'OpenID Connect',
    order_rank: 0,
    readonly: false,
    parameters: pluginParameters(settings, await signingJwks(kid), kid),
  });
  await addClients(call, settings.redirectUris);
  await addGrantClients(call, settings);
  return kid;
}

/**
 * The test user named `login`: {login, password, email}. Derived from the name alone, so that a
 * fake browser in another process (test/support/browser.mjs) can log in as a user the test added.
 */
export function glewlwydUser(login) {
  return { login, password: `${login}-password-0123`, email: `${login}@example.com` };
}

/** Adds the user glewlwydUser(login); returns it. */
export async function addUser(call, login) {
  const user = glewlwydUser(login);
  await call('POST', '/api/user/', {
    username: login,
    name: login,
    email: user.email,
    password: user.password,
    enabled: true,
    scope: SCOPES,
  });
  return user;
}

function pluginParameters(settings, jwks, kid) {
  return {
    iss: settings.issuer,
    // RFC 9207: `iss` in every authorization response.
    'oauth-as-iss-id': settings.iss9207,
    'jwks-private': JSON.stringify(jwks),
    'default-kid': kid,
    'jwks-show': true,
    'access-token-duration': settings.accessTokenTtl,
    'refresh-token-duration': settings.refreshTokenTtl,
    'code-duration': 600,
    // Rolling: a refresh restarts the refresh token's lifetime. One use: a refresh rotates it.
    'refresh-token-rolling': true,
    'refresh-token-one-use': settings.rotateRefreshToken ? 'always' : 'never',
    'client-refresh-token-one-use-parameter': 'refresh-token-one-use',
    'allow-non-oidc': false,
    'auth-type-code-enabled': true,
    'auth-type-code-revoke-replayed': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': true,
    'auth-type-none-enabled': false,
    'auth-type-password-enabled': false,
    // Client credentials: Glewlwyd lets a client revoke its tokens only if it has this grant type.
    'auth-type-client-enabled': true,
    'auth-type-device-enabled': true,
    'auth-type-refresh-enabled': true,
    'device-authorization-expiration': DEVICE_CODE_TTL,
    'device-authorization-interval': settings.deviceInterval,
    'pkce-allowed': true,
    'pkce-method-plain-allowed': false,
    'pkce-required': true,
    'introspection-revocation-allowed': true,
    'introspection-revocation-allow-target-client': true,
    'introspection-revocation-auth-scope': [],
    'secret-type': 'public',
    'allowed-scope': [...SCOPES, ...grantScopes(settings)],
    // The email claim goes into the id_token when the `email` scope was granted.
    'email-claim': 'on-demand',
    'email-claim-scope': ['email'],
    'name-claim': 'no',
    'scope-claim': 'no',
    // Session management gives the discovery document its end_session_endpoint.
    'session-management-allowed': true,
    'session-cookie-name': 'GLEWLWYD2_OIDC_SID',
    'session-cookie-expiration': 2419200,
    'front-channel-logout-allowed': false,
    'back-channel-logout-allowed': false,
    'request-parameter-allow': false,
    scope: [],
    claims: [],
    'additional-parameters': [],
    ...grantParameters(settings),
  };
}

/** A fresh RS256 key per start, with a kid (the KMS requires one in the id_token header). */
async function signingJwks(kid) {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };
}

async function addClients(call, redirectUris) {
  const common = { scope: [], enabled: true, redirect_uri: redirectUris };
  await call('POST', '/api/client/', {
    ...common,
    client_id: PUBLIC_CLIENT_ID,
    name: 'kms-agent (public)',
    confidential: false,
    authorization_type: ['code', 'refresh_token', 'device_authorization'],
    token_endpoint_auth_method: ['none'],
  });
  await call('POST', '/api/client/', {
    ...common,
    client_id: CONFIDENTIAL_CLIENT_ID,
    name: 'kms-agent (confidential)',
    confidential: true,
    client_secret: CLIENT_SECRET,
    authorization_type: ['code', 'refresh_token', 'device_authorization', 'client_credentials'],
    token_endpoint_auth_method: ['client_secret_basic'],
  });
}
