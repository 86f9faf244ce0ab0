// The clients of the local provider (src/demo/localProvider.ts): a public native one, a
// confidential one, a public one that must use DPoP when asked for, and the test's own.
import type { LocalProviderOptions } from './localProviderOptions.js';

export const LOCAL_PUBLIC_CLIENT_ID = 'kms-agent-test';
export const LOCAL_CONFIDENTIAL_CLIENT_ID = 'kms-agent-confidential';
export const LOCAL_CONFIDENTIAL_CLIENT_SECRET = 'test-secret-kms-agent-confidential';
/** A public native client whose every token request must carry a DPoP proof (option `dpop`). */
export const LOCAL_DPOP_CLIENT_ID = 'kms-agent-dpop';
export const LOCAL_REDIRECT_URIS = [
  'http://localhost:17899/authorization',
  'http://127.0.0.1:17899/authorization',
];

const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
];

/** The built-in clients (each may also use the `grants` of the options), then the test's ones. */
export function clientsOf(options: LocalProviderOptions): Record<string, unknown>[] {
  const common = {
    grant_types: [...GRANT_TYPES, ...(options.grants ?? []).map((grant) => grant.type)],
    response_types: ['code'],
    redirect_uris: options.redirectUris ?? LOCAL_REDIRECT_URIS,
  };
  const native = { application_type: 'native', token_endpoint_auth_method: 'none', ...common };
  const dpopOnly = { client_id: LOCAL_DPOP_CLIENT_ID, dpop_bound_access_tokens: true, ...native };
  return [
    { client_id: LOCAL_PUBLIC_CLIENT_ID, ...native },
    {
      client_id: LOCAL_CONFIDENTIAL_CLIENT_ID,
      client_secret: LOCAL_CONFIDENTIAL_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      ...common,
    },
    ...(options.dpop ? [dpopOnly] : []),
    ...(options.clients ?? []),
  ];
}
