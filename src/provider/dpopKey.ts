import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  type KeyObject,
} from 'node:crypto';
import type * as OIDC from 'openid-client';
import { thumbprint } from '../config/privateKeyFile.js';
import type { OpenidClient } from './openidClient.js';

/** A profile's DPoP key as the store keeps it: a private P-256 JWK (RFC 7517). */
export interface DpopJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

const ES256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

/**
 * A DPoP key (RFC 9449): an ES256 key pair the agent makes for a login (or for a client
 * credentials profile, at first use) and never lets out. It signs the proofs of the agent's own
 * token requests (through openid-client's DPoP handle, which also keeps the server's nonce), and
 * the proofs it hands clients for one request each (`proof`, synchronous: no promise on the
 * token path).
 */
export class DpopKey {
  /** The key's RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to it. */
  readonly jkt: string;
  private readonly header: string;
  private handle: Promise<OIDC.DPoPHandle> | undefined;

  private constructor(
    private readonly privateKey: KeyObject,
    private readonly jwk: DpopJwk,
  ) {
    this.jkt = thumbprint(privateKey);
    const { kty, crv, x, y } = jwk;
    this.header = base64url(
      JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }),
    );
  }

  static generate(): DpopKey {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new DpopKey(privateKey, privateKey.export({ format: 'jwk' }) as DpopJwk);
  }

  /** The stored key, or undefined when what is stored is not one. */
  static fromJwk(jwk: DpopJwk): DpopKey | undefined {
    try {
      const { kty, crv, x, y, d } = jwk;
      const key = createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' });
      return new DpopKey(key, { kty, crv, x, y, d });
    } catch {
      return undefined;
    }
  }

  /** The private JWK, for the store only: never logged, printed or sent. */
  toJwk(): DpopJwk {
    return this.jwk;
  }

  /**
   * A proof for one request (RFC 9449 §4.2): `htm`, `htu` (without query and fragment), a fresh
   * `jti`, `iat`, `ath` = the access token's SHA-256, and a resource server's `nonce` if given.
   */
  proof(htm: string, htu: string, accessToken: string, nonce?: string): string {
    const payload = {
      jti: randomUUID(),
      htm,
      htu,
      iat: Math.floor(Date.now() / 1000),
      ath: createHash('sha256').update(accessToken).digest('base64url'),
      ...(nonce === undefined ? {} : { nonce }),
    };
    const input = `${this.header}.${base64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: this.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }

  /** openid-client's handle for the token requests: one per key, so it keeps the server's nonce. */
  handleFor(oidc: OpenidClient, config: OIDC.Configuration): Promise<OIDC.DPoPHandle> {
    this.handle ??= this.keyPair().then((pair) => oidc.getDPoPHandle(config, pair));
    return this.handle;
  }

  private async keyPair(): Promise<CryptoKeyPair> {
    const { kty, crv, x, y } = this.jwk;
    const privateKey = await crypto.subtle.importKey('jwk', this.jwk, ES256, false, ['sign']);
    // openid-client puts the public key in each proof's header: it must be extractable.
    const publicKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y }, ES256, true, [
      'verify',
    ]);
    return { privateKey, publicKey };
  }
}
