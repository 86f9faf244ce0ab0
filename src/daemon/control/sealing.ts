import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';

/** A text encrypted under a passphrase's key: AES-256-GCM, a fresh nonce each time. */
export interface Sealed {
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly data: Buffer;
}

/** scrypt's cost: N = 2^15 (about 50 ms and 32 MiB here), r = 8, p = 1, as RFC 7914 suggests. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** Encrypts and opens with one key, derived from a passphrase and a random salt. */
export class Sealer {
  private constructor(private readonly key: Buffer) {}

  static async derive(passphrase: string, salt: Buffer): Promise<Sealer> {
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt(passphrase.normalize('NFC'), salt, 32, SCRYPT, (err, derived) =>
        err ? reject(err) : resolve(derived),
      ),
    );
    return new Sealer(key);
  }

  seal(text: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return { iv, tag: cipher.getAuthTag(), data };
  }

  /** The text, or undefined when this key did not seal it (a wrong passphrase). */
  open(sealed: Sealed): string | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.iv);
    decipher.setAuthTag(sealed.tag);
    try {
      return Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  /** The key is not needed once the agent is sealed or opened again. */
  forget(): void {
    this.key.fill(0);
  }
}
