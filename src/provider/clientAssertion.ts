import type * as OIDC from 'openid-client';
import { readClientKey, type ClientKeyAlg } from '../config/privateKeyFile.js';
import type { OpenidClient } from './openidClient.js';
import type { Profile } from '../config/profile.js';

/** WebCrypto's name for each key, to hand openid-client the key it signs with. */
const WEBCRYPTO: Record<ClientKeyAlg, RsaHashedImportParams | EcKeyImportParams | Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
  EdDSA: { name: 'Ed25519' },
};

/**
 * private_key_jwt (RFC 7523): a client assertion signed with the key of `keyFile`, read again on
 * each use so that a rotated key needs no restart. Its `aud` is the token endpoint and an Ed25519
 * key signs as `EdDSA`: what both Glewlwyd and oidc-provider accept (openid-client's defaults,
 * `aud` = the issuer and alg `Ed25519`, are refused by Glewlwyd; docs/providers.md).
 */
export async function privateKeyJwt(
  oidc: OpenidClient,
  keyFile: string,
  tokenEndpoint: string | undefined,
): Promise<OIDC.ClientAuth> {
  const { key, alg, kid } = readClientKey(keyFile);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const cryptoKey = await crypto.subtle.importKey('pkcs8', der, WEBCRYPTO[alg], false, ['sign']);
  const modify: OIDC.ModifyAssertionFunction = (header, payload) => {
    if (tokenEndpoint) payload.aud = tokenEndpoint;
    if (header.alg === 'Ed25519') header.alg = 'EdDSA';
  };
  return oidc.PrivateKeyJwt({ key: cryptoKey, kid }, { [oidc.modifyAssertion]: modify });
}

/** How the client authenticates at `tokenEndpoint`; a private_key_jwt key is read on each use. */
export async function clientAuth(
  oidc: OpenidClient,
  profile: Profile,
  tokenEndpoint: string | undefined,
): Promise<OIDC.ClientAuth> {
  switch (profile.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return oidc.ClientSecretBasic(profile.clientSecret);
    case 'client_secret_post':
      return oidc.ClientSecretPost(profile.clientSecret);
    case 'private_key_jwt':
      return privateKeyJwt(oidc, profile.privateKeyFile!, tokenEndpoint);
    default:
      return oidc.None();
  }
}
