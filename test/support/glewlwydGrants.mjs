// Glewlwyd set-up beyond the browser login (test/support/glewlwydSetup.mjs calls it): service
// clients for the client credentials grant (client secret, or private_key_jwt with the client's
// JWKS), and DPoP with a public client that must use it. What each setting does was found by
// trying Glewlwyd 2.7.5; the report is in test/glewlwydGrants.test.mjs.
import { SERVICE_SCOPE } from './serviceClients.mjs';

/** A public native client whose every token request must carry a DPoP proof (option `dpop`). */
export const DPOP_CLIENT_ID = 'kms-agent-dpop';
// The client property Glewlwyd reads to require DPoP of a client (a string, 'true').
const DPOP_BOUND = 'dpop_bound_access_tokens';

/** The OIDC plugin's parameters for settings.serviceClients and settings.dpop. */
export function grantParameters({ serviceClients, dpop }) {
  const jwtAuth = serviceClients.some((client) => client.auth === 'private_key_jwt');
  return {
    // The plugin answers client_credentials with a bare 403 unless non-OIDC requests are allowed.
    ...(serviceClients.length ? { 'allow-non-oidc': true } : {}),
    // JWT client authentication is refused ("unauthorized request parameter") without this.
    ...(jwtAuth ? { 'request-parameter-allow': true, 'client-jwks-parameter': 'jwks' } : {}),
    ...(dpop
      ? {
          'oauth-dpop-allowed': true,
          'oauth-dpop-iat-duration': 60,
          'oauth-dpop-dpop_bound_access_tokens-property': DPOP_BOUND,
          'oauth-dpop-nonce-mandatory': dpop.requireNonce ?? false,
          'oauth-dpop-nonce-counter': 10,
        }
      : {}),
  };
}

/** The scopes the settings need besides the login's. */
export function grantScopes({ serviceClients }) {
  return serviceClients.length ? [SERVICE_SCOPE] : [];
}

/** Adds the service clients and, with DPoP, the DPoP-only public client. */
export async function addGrantClients(call, { serviceClients, dpop, redirectUris }) {
  if (dpop) await storeClientProperty(call, DPOP_BOUND);
  for (const service of serviceClients) {
    await call('POST', '/api/client/', {
      client_id: service.clientId,
      name: `service ${service.clientId}`,
      enabled: true,
      confidential: true,
      redirect_uri: [],
      scope: [SERVICE_SCOPE],
      authorization_type: ['client_credentials'],
      token_endpoint_auth_method: [service.auth],
      ...(service.secret
        ? { client_secret: service.secret }
        : { jwks: { keys: [service.publicJwk] } }),
      ...(service.dpopBound ? { [DPOP_BOUND]: 'true' } : {}),
    });
  }
  if (!dpop) return;
  await call('POST', '/api/client/', {
    client_id: DPOP_CLIENT_ID,
    name: 'kms-agent (DPoP)',
    enabled: true,
    confidential: false,
    redirect_uri: redirectUris,
    scope: [],
    authorization_type: ['code', 'refresh_token', 'device_authorization'],
    token_endpoint_auth_method: ['none'],
    [DPOP_BOUND]: 'true',
  });
}

/** The database client backend keeps only the properties of its data-format: add one. */
async function storeClientProperty(call, name) {
  const backend = await call('GET', '/api/mod/client/database');
  backend.parameters['data-format'][name] = { multiple: false, read: true, write: true };
  await call('PUT', '/api/mod/client/database', backend);
  await call('PUT', '/api/mod/client/database/reset');
}
