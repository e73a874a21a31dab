import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A key set's text is wrong, or a ciphertext cannot be opened with it. */
export class CryptoError extends Error {
  override name = 'CryptoError';
}

/** AES-256-GCM output, with the id of the key that made it, so keys can rotate. */
export interface Sealed {
  kid: string;
  iv: Buffer;
  ct: Buffer;
  tag: Buffer;
}

/**
 * The one place ticketflow encrypts: a key set "kid:base64key[,kid:base64key…]" (32-byte AES-256 keys) whose
 * first key encrypts and every key decrypts, so a new key can be put first while what the old one sealed stays
 * readable. SECRET_KEYS (data at rest) and PAYLOAD_KEYS (Temporal payloads) are two such sets; `variable` names
 * the setting in every error, so an operator knows which one to fix.
 */
export class KeySet {
  private readonly keys: Map<string, Buffer>;
  readonly activeKid: string;

  constructor(
    spec: string,
    readonly variable: string,
  ) {
    const entries = spec.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
      const [kid, b64] = part.split(':');
      const key = Buffer.from(b64 ?? '', 'base64');
      if (!kid || !/^[A-Za-z0-9_.-]{1,32}$/.test(kid) || key.length !== 32) {
        throw new CryptoError(`${variable} must be "kid:base64key[,kid:base64key…]" with 32-byte keys (make one with: openssl rand -base64 32)`);
      }
      return [kid, key] as const;
    });
    if (entries.length === 0) throw new CryptoError(`${variable} is empty`);
    this.keys = new Map(entries);
    if (this.keys.size !== entries.length) throw new CryptoError(`${variable} names a key id more than once; every kid must be unique`);
    this.activeKid = entries[0]![0];
  }

  /** A fresh one-key spec (for `npm start` and tests); the kid defaults to the prefix and today's date. */
  static generateSpec(prefix: string, kid = `${prefix}${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
    return `${kid}:${randomBytes(32).toString('base64')}`;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** `aad` (e.g. the row a secret belongs to) is authenticated: a ciphertext moved elsewhere will not open. */
  encrypt(plain: Uint8Array, aad?: Uint8Array): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKid)!, iv);
    if (aad) cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { kid: this.activeKid, iv, ct, tag: cipher.getAuthTag() };
  }

  /** `what` names the thing in errors ("payload", "secret"). */
  decrypt(sealed: Sealed, what: string, aad?: Uint8Array): Buffer {
    const key = this.keys.get(sealed.kid);
    if (!key) throw new CryptoError(`${what} encrypted with key "${sealed.kid}", which is not in ${this.variable} (it has ${this.keyIds.map((k) => `"${k}"`).join(', ')}); add that key after the active one`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    try {
      return Buffer.concat([decipher.update(sealed.ct), decipher.final()]);
    } catch {
      throw new CryptoError(`${what} encrypted with key "${sealed.kid}" does not decrypt: the key material differs or the ${what} was altered`);
    }
  }
}
