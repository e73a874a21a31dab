import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** An AES-256-GCM ciphertext that names the key that made it, so keys can rotate. */
export interface SealedBox {
  v: 1;
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export class KeyringError extends Error {
  override name = 'KeyringError';
}

/**
 * Parses a key set "kid:base64key[,kid:base64key…]" (32-byte AES-256 keys; the first is the active one).
 * `variable` names the setting in errors, so an operator knows which one to fix. Shared by SECRET_KEYS
 * (credentials at rest) and PAYLOAD_KEYS (Temporal payloads), which are separate key sets.
 */
export function parseKeySpec(spec: string, variable: string): { keys: Map<string, Buffer>; activeKid: string } {
  const entries = spec.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [kid, b64] = part.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!kid || !/^[A-Za-z0-9_.-]{1,32}$/.test(kid) || key.length !== 32) {
      throw new KeyringError(`${variable} must be "kid:base64key[,kid:base64key…]" with 32-byte keys (make one with: openssl rand -base64 32)`);
    }
    return [kid, key] as const;
  });
  if (entries.length === 0) throw new KeyringError(`${variable} is empty`);
  const keys = new Map(entries);
  if (keys.size !== entries.length) throw new KeyringError(`${variable} names a key id more than once; every kid must be unique`);
  return { keys, activeKid: entries[0]![0] };
}

/** A fresh one-key spec (for `npm start` and tests); the kid defaults to the prefix and today's date. */
export function generateKeySpec(prefix: string, kid = `${prefix}${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${kid}:${randomBytes(32).toString('base64')}`;
}

/**
 * Keys for secrets at rest, from `SECRET_KEYS` = "kid:base64key[,kid:base64key…]". The first key encrypts;
 * every key decrypts, so a new key can be put first while old rows are still readable (and re-sealed).
 */
export class Keyring {
  private readonly keys: Map<string, Buffer>;
  readonly activeKid: string;

  constructor(spec: string) {
    ({ keys: this.keys, activeKid: this.activeKid } = parseKeySpec(spec, 'SECRET_KEYS'));
  }

  static generateSpec(kid?: string): string {
    return generateKeySpec('k', kid);
  }

  /** `context` (e.g. the connection key) is authenticated: a box copied to another row will not open. */
  seal(value: unknown, context: string): SealedBox {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKid)!, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return { v: 1, kid: this.activeKid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') };
  }

  open<T = unknown>(box: SealedBox, context: string): T {
    const key = this.keys.get(box.kid);
    if (!key) throw new KeyringError(`secret sealed with key "${box.kid}", which is not in SECRET_KEYS`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(box.tag, 'base64'));
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(box.ct, 'base64')), decipher.final()]).toString('utf8')) as T;
  }
}
