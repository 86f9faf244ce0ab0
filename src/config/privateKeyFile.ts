import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { modeText } from '../os/fileSafety.js';
import { untrustedBecause } from './fileTrust.js';

/**
 * The JWS algorithm a client key signs with, decided by the key (docs/configuration.md: RS256,
 * ES256, EdDSA).
 */
export type ClientKeyAlg = 'RS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

/** A `private_key_file` as read: the key, how it signs, and the `kid` its assertions name. */
export interface ClientKey {
  key: KeyObject;
  alg: ClientKeyAlg;
  kid: string;
}

/** What is wrong with a private_key_file, in words a person can act on. */
export class PrivateKeyFileError extends Error {}

const CURVE_ALGS: Record<string, ClientKeyAlg> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/**
 * A `kid: VALUE` line before the PEM block names the key's id at the provider; RFC 7468 §5.2 lets
 * explanatory text stand there, and OpenSSL and Node skip it.
 */
const KID_LINE = /^kid:[ \t]*(\S+)[ \t]*$/m;

/**
 * Reads a client's private key (private_key_jwt, RFC 7523) from a PEM file. The file must be the
 * user's, and no one else's to change, like the config (fileTrust.ts), and no one else's to read,
 * as ssh requires of a private key. The `kid` is the file's `kid:` line, else the RFC 7638
 * thumbprint of the public key (what a provider's JWKS usually names it by).
 */
export function readClientKey(path: string): ClientKey {
  const text = readPrivateFile(path);
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch {
    // PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", or the traditional "Proc-Type: 4,ENCRYPTED".
    const encrypted = /-----BEGIN ENCRYPTED|Proc-Type: 4,ENCRYPTED/.test(text);
    throw new PrivateKeyFileError(
      encrypted
        ? 'the key is encrypted with a passphrase: kms-agent needs it unencrypted, in a file only you can read'
        : 'it holds no private key in PEM form (PKCS#8 "BEGIN PRIVATE KEY", or "BEGIN RSA/EC PRIVATE KEY")',
    );
  }
  const alg = algOf(key);
  const pemStart = text.indexOf('-----BEGIN');
  const kid = KID_LINE.exec(text.slice(0, Math.max(0, pemStart)))?.[1] ?? thumbprint(key);
  return { key, alg, kid };
}

function readPrivateFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PrivateKeyFileError(`cannot read ${path} (${code ?? (err as Error).message})`);
  }
  try {
    const stat = fstatSync(fd);
    const untrusted = untrustedBecause(path, stat);
    if (untrusted) throw new PrivateKeyFileError(`refusing to use ${path}: ${untrusted}`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = modeText(stat.mode & 0o777);
      throw new PrivateKeyFileError(
        `refusing to use ${path}: others can read this private key (mode ${mode}): run chmod 600 ${path}`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function algOf(key: KeyObject): ClientKeyAlg {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === 'ec' && curve !== undefined && CURVE_ALGS[curve]) return CURVE_ALGS[curve];
  const what = type === 'ec' ? `an EC key on ${curve}` : `a ${type ?? 'unknown'} key`;
  throw new PrivateKeyFileError(
    `it holds ${what}: use an RSA, EC P-256/P-384/P-521 or Ed25519 key`,
  );
}

/** RFC 7638: SHA-256 of the public key's required members, in this order, base64url. */
export function thumbprint(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
