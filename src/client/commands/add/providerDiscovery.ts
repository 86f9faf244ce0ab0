/**
 * `kms-agent add` reads the provider's discovery document (OpenID Connect Discovery 1.0) before it
 * writes a profile, like oidc-gen: the profile then only needs its issuer, and a provider the agent
 * could not use (no document, no PKCE S256, endpoints in clear text) is refused with the reason.
 * The same rules as the daemon's (src/config/endpointRules.ts); the answer is read within the
 * daemon's size bound.
 */
import { discoveredEndpointProblem, endpointProblem } from '../../../config/endpointRules.js';
import { boundedFetch } from '../../../provider/boundedFetch.js';
import { PROVIDER_TIMEOUT_SECONDS } from '../../../provider/providerClient.js';
import { classifyProviderError } from '../../../provider/providerErrors.js';
import { providerText } from '../../../provider/providerText.js';
import { AgentError } from '../../../rpc/jsonRpc.js';

export interface ProviderSupport {
  discoveryUrl: string;
  /** true: listed; false: a list without it; undefined: the document does not say. */
  pkceS256: boolean | undefined;
  pkceMethods: string[] | undefined;
  device: boolean;
  revocation: boolean;
  /** offline_access in scopes_supported, or the refresh_token grant listed. */
  refreshTokens: boolean | undefined;
  rfc9207: boolean;
  /** Whether a client without a secret (token_endpoint_auth_method "none") is listed, when the document says. */
  publicClients: boolean | undefined;
  scopesSupported: string[] | undefined;
  /** Whether grant_types_supported lists client_credentials, when the document says. */
  clientCredentials: boolean | undefined;
  /** Whether token_endpoint_auth_methods_supported lists private_key_jwt, when it says. */
  privateKeyJwt: boolean | undefined;
}

type Metadata = Record<string, unknown>;

function refused(message: string): AgentError {
  return new AgentError('USAGE', message);
}

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string').map((v) => providerText(v, 100))
    : undefined;

/** The discovery document's URL: the issuer without its trailing slash, then /.well-known/openid-configuration. */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

async function fetchDocument(issuer: string, url: string): Promise<Metadata> {
  let response: Response;
  try {
    response = await boundedFetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_SECONDS * 1000),
    });
  } catch (err) {
    throw refused(
      `cannot read the discovery document of ${issuer} at ${url} (${classifyProviderError(err).detail}): check the issuer URL and the network`,
    );
  }
  if (!response.ok) {
    throw refused(
      `${issuer} has no OpenID Connect discovery document: GET ${url} answered HTTP ${response.status}; check the issuer URL (it is the "iss" of the provider's tokens)`,
    );
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw refused(
      `the discovery document of ${issuer} at ${url} is not JSON: check the issuer URL`,
    );
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw refused(`the discovery document of ${issuer} at ${url} is not a JSON object`);
  return document as Metadata;
}

/**
 * Reads and checks the discovery document; throws a USAGE AgentError naming what is wrong. A
 * `service` (client credentials) needs only the token endpoint: no login, so no PKCE.
 */
export async function discoverProvider(
  issuer: string,
  { service = false } = {},
): Promise<ProviderSupport> {
  const problem = endpointProblem(issuer);
  if (problem) throw refused(`--issuer ${issuer}: expected ${problem}`);
  const url = discoveryUrlOf(issuer);
  const doc = await fetchDocument(issuer, url);
  // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
  if (doc.issuer !== issuer) {
    const named =
      typeof doc.issuer === 'string' ? `"${providerText(doc.issuer, 300)}"` : 'no issuer';
    throw refused(
      `the discovery document at ${url} names ${named}, not ${issuer}${typeof doc.issuer === 'string' ? `: use --issuer ${providerText(doc.issuer, 300)}` : ''}`,
    );
  }
  const required = service ? ['token_endpoint'] : ['authorization_endpoint', 'token_endpoint'];
  for (const name of required) {
    if (typeof doc[name] !== 'string')
      throw refused(`the discovery document of ${issuer} has no ${name}`);
  }
  const endpoints = discoveredEndpointProblem(issuer, doc);
  if (endpoints) throw refused(endpoints);
  const pkceMethods = strings(doc.code_challenge_methods_supported);
  if (!service && pkceMethods && !pkceMethods.includes('S256')) {
    throw refused(
      `${issuer} does not support PKCE with S256 (its code_challenge_methods_supported is [${pkceMethods.join(', ')}]): kms-agent always uses S256, so it cannot log in there`,
    );
  }
  const scopesSupported = strings(doc.scopes_supported);
  const grants = strings(doc.grant_types_supported);
  const authMethods = strings(doc.token_endpoint_auth_methods_supported);
  return {
    discoveryUrl: url,
    pkceS256: pkceMethods ? true : undefined,
    pkceMethods,
    device: typeof doc.device_authorization_endpoint === 'string',
    revocation: typeof doc.revocation_endpoint === 'string',
    refreshTokens:
      scopesSupported?.includes('offline_access') || grants?.includes('refresh_token')
        ? true
        : scopesSupported || grants
          ? false
          : undefined,
    rfc9207: doc.authorization_response_iss_parameter_supported === true,
    publicClients: authMethods ? authMethods.includes('none') : undefined,
    scopesSupported,
    clientCredentials: grants ? grants.includes('client_credentials') : undefined,
    privateKeyJwt: authMethods ? authMethods.includes('private_key_jwt') : undefined,
  };
}

const row = (label: string, text: string): string => `  ${`${label}:`.padEnd(16)} ${text}`;
const listed = (value: boolean | undefined, what: string): string =>
  value === undefined ? `not advertised (no ${what})` : value ? 'listed' : `not listed in ${what}`;

/** What the provider supports, a line each, as `add` shows it before writing the profile. */
export function describeSupport(
  issuer: string,
  support: ProviderSupport,
  service = false,
): string[] {
  if (service) {
    return [
      `Provider ${issuer} (discovery document ${support.discoveryUrl}):`,
      row(
        'client creds',
        `${listed(support.clientCredentials, 'grant_types_supported')} (some providers, Glewlwyd among them, serve the grant without listing it)`,
      ),
      row(
        'private_key_jwt',
        listed(support.privateKeyJwt, 'token_endpoint_auth_methods_supported'),
      ),
    ];
  }
  return [
    `Provider ${issuer} (discovery document ${support.discoveryUrl}):`,
    row(
      'PKCE S256',
      support.pkceS256
        ? 'yes'
        : 'not advertised (no code_challenge_methods_supported; some providers, Entra ID among them, support it without saying so): kms-agent uses it anyway',
    ),
    row(
      'device flow',
      support.device
        ? 'yes: `kms-agent login --device` works where no browser can open'
        : 'no: logins need a browser that reaches this machine',
    ),
    row(
      'revocation',
      support.revocation
        ? 'yes: `kms-agent logout` revokes the refresh token'
        : 'no: `kms-agent logout` forgets the login here only',
    ),
    row(
      'refresh tokens',
      support.refreshTokens === undefined
        ? 'not advertised (no scopes_supported or grant_types_supported)'
        : support.refreshTokens
          ? 'yes (offline_access or the refresh_token grant is listed)'
          : 'no (neither offline_access nor the refresh_token grant is listed): a login may last only as long as one token',
    ),
    row('RFC 9207 iss', support.rfc9207 ? 'yes: each login checks which provider answered' : 'no'),
  ];
}
