// Service clients for the client credentials grant (docs/configuration.md), described once for both
// test providers: authenticated with a client secret (HTTP Basic or POST body), or with a private
// key (private_key_jwt, RFC 7523) whose PKCS#8 PEM a profile's private_key_file can name.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, importPKCS8 } from 'jose';
import * as oidc from 'openid-client';
import { discover } from './relyingParty.mjs';

const KEY_TYPES = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
};

export const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];
/** The scope a service asks for (Glewlwyd issues no client credentials token without one). */
export const SERVICE_SCOPE = 'kms';

/**
 * A service client: {clientId, auth, secret (secret methods: letters and digits, as Glewlwyd needs
 * for HTTP Basic), alg, privateKeyPem, publicJwk (private_key_jwt; its `kid` is the key's RFC 7638
 * SHA-256 thumbprint unless `kid` is given), dpopBound}. `auth` is client_secret_basic,
 * client_secret_post or private_key_jwt; `alg` RS256, ES256 (default) or EdDSA (Ed25519);
 * `dpopBound`: every token request must carry a DPoP proof.
 */
export async function serviceClient(clientId, auth, options = {}) {
  const { alg = 'ES256', kid, dpopBound = false } = options;
  if (SECRET_METHODS.includes(auth)) {
    return { clientId, auth, secret: randomBytes(24).toString('hex'), dpopBound };
  }
  if (auth !== 'private_key_jwt') throw new Error(`unknown client authentication ${auth}`);
  if (!KEY_TYPES[alg]) throw new Error(`no key type for ${alg}`);
  const { publicKey, privateKey } = generateKeyPairSync(...KEY_TYPES[alg]);
  const jwk = publicKey.export({ format: 'jwk' });
  const publicJwk = { ...jwk, kid: kid ?? (await calculateJwkThumbprint(jwk)), use: 'sig' };
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  return { clientId, auth, alg, privateKeyPem, publicJwk, dpopBound };
}

/**
 * One service client per way to authenticate: {basic, post, RS256, ES256, EdDSA} (svcBasic,
 * svcPost, svcRsa, svcEc, svcEd), and `bound` (svcBound, client_secret_basic, DPoP required).
 */
export async function serviceClientsOfEveryKind() {
  return {
    bound: await serviceClient('svcBound', 'client_secret_basic', { dpopBound: true }),
    basic: await serviceClient('svcBasic', 'client_secret_basic'),
    post: await serviceClient('svcPost', 'client_secret_post'),
    RS256: await serviceClient('svcRsa', 'private_key_jwt', { alg: 'RS256' }),
    ES256: await serviceClient('svcEc', 'private_key_jwt', { alg: 'ES256' }),
    EdDSA: await serviceClient('svcEd', 'private_key_jwt', { alg: 'EdDSA' }),
  };
}

/** Its metadata for the local oidc-provider (startLocalProvider's `clients`). */
export function oidcProviderClient(service) {
  return {
    client_id: service.clientId,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: service.auth,
    ...(service.secret
      ? { client_secret: service.secret }
      : { jwks: { keys: [service.publicJwk] } }),
    ...(service.dpopBound ? { dpop_bound_access_tokens: true } : {}),
  };
}

/**
 * openid-client's configuration for a service client at `issuer`. For private_key_jwt the
 * assertion's `aud` is the token endpoint and an Ed25519 key signs as `EdDSA`, which both test
 * providers accept (Glewlwyd refuses openid-client's defaults, `aud` = issuer and alg
 * `Ed25519`); `{ asIs: true }` keeps openid-client's defaults.
 */
export async function serviceConfig(issuer, service, { asIs = false } = {}) {
  const metadata = (await discover(issuer, service.clientId)).serverMetadata();
  const auth = await serviceAuth(service, asIs ? undefined : metadata.token_endpoint);
  const config = new oidc.Configuration(metadata, service.clientId, {}, auth);
  oidc.allowInsecureRequests(config);
  return config;
}

async function serviceAuth(service, audience) {
  if (service.auth === 'client_secret_basic') return oidc.ClientSecretBasic(service.secret);
  if (service.auth === 'client_secret_post') return oidc.ClientSecretPost(service.secret);
  const key = await importPKCS8(service.privateKeyPem, service.alg);
  const modify = (header, payload) => {
    payload.aud = audience;
    if (header.alg === 'Ed25519') header.alg = 'EdDSA';
  };
  const options = audience ? { [oidc.modifyAssertion]: modify } : {};
  return oidc.PrivateKeyJwt({ key, kid: service.publicJwk.kid }, options);
}
