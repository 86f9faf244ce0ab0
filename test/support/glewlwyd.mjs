// A second real OpenID provider for tests: Glewlwyd (Debian package `glewlwyd`), stricter than
// oidc-provider the way real providers are. Each start is a fresh Glewlwyd in its own temp dir on a
// free loopback port, behind a counting proxy whose address is the issuer, so every request a
// client makes (discovery, authorize, token, revocation, device, jwks) is counted.
import { startCountingProxy } from './countingProxy.mjs';
import { approveDevice, playAuthorization } from './glewlwydBrowser.mjs';
import { DPOP_CLIENT_ID } from './glewlwydGrants.mjs';
import { runGlewlwyd } from './glewlwydProcess.mjs';
import {
  adminSession,
  addUser,
  configureProvider,
  CLIENT_SECRET,
  CONFIDENTIAL_CLIENT_ID,
  PLUGIN,
  PUBLIC_CLIENT_ID,
} from './glewlwydSetup.mjs';

const DEFAULT_REDIRECT_URIS = [
  'http://localhost:17899/authorization',
  'http://127.0.0.1:17899/authorization',
];
const DAY = 24 * 60 * 60;

/**
 * Options: redirectUris (both clients'; default the agent's two loopback ones on port 17899),
 * accessTokenTtl (s, default 3600; the id_token's `exp` follows it too), refreshTokenTtl (s,
 * default 14 days, restarted by each refresh), rotateRefreshToken (default true: every refresh
 * returns a new refresh token and the old one is dead), deviceInterval (s, default 1, Glewlwyd's
 * smallest), iss9207 (default true: `iss` in every authorization response), serviceClients
 * (client credentials clients from test/support/serviceClients.mjs; default none), dpop
 * ({requireNonce}: DPoP on, and the public client dpopClientId that must use it; default off).
 *
 * Resolves with {issuer, jwksUri, port, kid, clientId (public, PKCE S256 required), confidentialClientId,
 * clientSecret (client_secret_basic), dpopClientId, user: {login, password, email}, startupMs,
 * userNamed(login) (adds that user on first use), playAuthorization(url, {login}),
 * approveDevice(urlOrUserCode, {login}), stats, resetStats(),
 * setFault(hook), dir, log(), close()}: see test/support/countingProxy.mjs for stats and setFault.
 */
export async function startGlewlwyd(options = {}) {
  const startedAt = performance.now();
  const settings = {
    redirectUris: options.redirectUris ?? DEFAULT_REDIRECT_URIS,
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    refreshTokenTtl: options.refreshTokenTtl ?? 14 * DAY,
    rotateRefreshToken: options.rotateRefreshToken ?? true,
    deviceInterval: options.deviceInterval ?? 1,
    iss9207: options.iss9207 ?? true,
    serviceClients: options.serviceClients ?? [],
    dpop: options.dpop,
  };
  let server;
  let proxy;
  try {
    proxy = await startCountingProxy({
      targetPort: () => server.port,
      tokenPath: `/api/${PLUGIN}/token`,
      revocationPath: `/api/${PLUGIN}/revoke`,
    });
    // Glewlwyd writes its external URL into its redirects and its plugin's issuer into the
    // discovery document and tokens: both are the proxy's address, so clients only ever see it.
    const origin = `http://127.0.0.1:${proxy.port}`;
    const issuer = `${origin}/api/${PLUGIN}`;
    server = await runGlewlwyd(origin);
    const admin = await adminSession(`http://127.0.0.1:${server.port}`);
    const kid = await configureProvider(admin, { ...settings, issuer });
    const users = new Map();
    // Any login name works, as on oidc-provider's dev pages: LOGIN@example.com is made on first use.
    const userNamed = (login) => {
      if (!users.has(login)) users.set(login, addUser(admin, login));
      return users.get(login);
    };
    const user = await userNamed('alice');
    const startupMs = Math.round(performance.now() - startedAt);
    const dpopClientId = settings.dpop ? DPOP_CLIENT_ID : undefined;
    return providerHandle({ issuer, kid, user, userNamed, server, proxy, startupMs, dpopClientId });
  } catch (error) {
    await shutDown(server, proxy);
    throw error;
  }
}

function providerHandle({ issuer, kid, user, userNamed, server, proxy, startupMs, dpopClientId }) {
  let closing;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    port: proxy.port,
    kid,
    clientId: PUBLIC_CLIENT_ID,
    confidentialClientId: CONFIDENTIAL_CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    /** With the option `dpop`: the public client that must send DPoP proofs. */
    dpopClientId,
    user,
    /** How long the start took: process, database and configuration. */
    startupMs,
    /** Its temp dir (config and database), gone after close(). */
    dir: server.dir,
    /** Glewlwyd's own log so far (its stdout and stderr, never printed). */
    log: () => server.log(),
    /** The user LOGIN@example.com, added on first use (`alice` exists from the start). */
    userNamed,
    playAuthorization: async (authorizationUrl, { login = 'alice' } = {}) =>
      playAuthorization(authorizationUrl, await userNamed(login)),
    approveDevice: async (verificationUrlOrUserCode, { login = 'alice' } = {}) =>
      approveDevice(
        `${issuer}/device`,
        userCodeOf(verificationUrlOrUserCode),
        await userNamed(login),
      ),
    get stats() {
      return proxy.stats;
    },
    resetStats: () => proxy.resetStats(),
    setFault: (hook) => proxy.setFault(hook),
    close: () => (closing ??= shutDown(server, proxy)),
  };
}

/** The user code in a verification_uri_complete (`?code=` at Glewlwyd, `?user_code=` elsewhere), or the code itself. */
function userCodeOf(text) {
  if (!/^https?:/.test(text)) return text;
  const params = new URL(text).searchParams;
  const code = params.get('code') ?? params.get('user_code');
  if (!code) throw new Error('the verification URL carries no user code');
  return code;
}

async function shutDown(server, proxy) {
  await server?.stop();
  await proxy?.close();
}
