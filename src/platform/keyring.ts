import { CryptoError, KeySet } from './crypto.js';

/** An AES-256-GCM ciphertext stored as JSON (base64 fields), naming the key that made it. */
export interface SealedBox {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export { CryptoError as KeyringError };

/**
 * Keys for secrets at rest, from `SECRET_KEYS`: values are sealed as JSON boxes bound to a context (e.g. the
 * connection key), opened with whichever key sealed them, and re-sealed under the active key after a rotation.
 */
export class Keyring {
  private readonly keys: KeySet;

  constructor(spec: string) {
    this.keys = new KeySet(spec, 'SECRET_KEYS');
  }

  get activeKid(): string {
    return this.keys.activeKid;
  }

  static generateSpec(kid?: string): string {
    return KeySet.generateSpec('k', kid);
  }

  /** `context` (e.g. the connection key) is authenticated: a box copied to another row will not open. */
  seal(value: unknown, context: string): SealedBox {
    const { kid, iv, ct, tag } = this.keys.encrypt(Buffer.from(JSON.stringify(value), 'utf8'), Buffer.from(context));
    return { v: 1, kid, iv: iv.toString('base64'), tag: tag.toString('base64'), ct: ct.toString('base64') };
  }

  open<T = unknown>(box: SealedBox, context: string): T {
    const sealed = { kid: box.kid, iv: Buffer.from(box.iv, 'base64'), ct: Buffer.from(box.ct, 'base64'), tag: Buffer.from(box.tag, 'base64') };
    return JSON.parse(this.keys.decrypt(sealed, 'secret', Buffer.from(context)).toString('utf8')) as T;
  }
}
