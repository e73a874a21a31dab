import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CryptoError, KeySet } from '../crypto.js';

const { temporal } = proto;
const PayloadMessage = temporal.api.common.v1.Payload;
const HistoryMessage = temporal.api.history.v1.History;

/** The `encoding` metadata of a payload this codec encrypted. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata naming the PAYLOAD_KEYS key that encrypted a payload. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class PayloadCodecError extends Error {
  override name = 'PayloadCodecError';
}

/** A decoded `temporal.api.common.v1.Payload` message (the proto root is reflection-based: no instanceof). */
const isPayloadMessage = (node: object): node is Payload =>
  (node as { $type?: { fullName?: string } }).$type?.fullName === '.temporal.api.common.v1.Payload';

export const isEncrypted = (p: Payload): boolean => {
  const encoding = p.metadata?.encoding;
  return !!encoding && fromUtf8.decode(encoding) === ENCRYPTED_ENCODING;
};

/**
 * Encrypts every Temporal payload (workflow and activity inputs and results, signals, queries, updates,
 * memos, user metadata, encoded failure attributes) with AES-256-GCM before it leaves this process, so
 * the Temporal server and everyone who reads its history see only ciphertext.
 *
 * Keys come from `PAYLOAD_KEYS` = "kid:base64key[,kid:base64key…]", a key set separate from SECRET_KEYS:
 * the first key encrypts, every key decrypts, so a new key can be put first while histories written under
 * the old one stay readable.
 *
 * Encoded payload: metadata `encoding: binary/encrypted` and `encryption-key-id: <kid>`; data = iv (12 bytes)
 * | ciphertext | GCM tag (16 bytes), over the serialized original `temporal.api.common.v1.Payload`, so its
 * own metadata (e.g. `encoding: json/plain`) is hidden too.
 *
 * Decoding passes payloads that are not encrypted through unchanged: histories written before the codec was
 * introduced (and the recorded histories of the replay test) keep working. Encoding passes payloads that are
 * already encrypted through, so nothing is encrypted twice.
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly keys: KeySet;

  constructor(spec: string) {
    this.keys = new KeySet(spec, 'PAYLOAD_KEYS');
  }

  get activeKid(): string {
    return this.keys.activeKid;
  }

  static generateSpec(kid?: string): string {
    return KeySet.generateSpec('p', kid);
  }

  get keyIds(): string[] {
    return this.keys.keyIds;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? p : this.encrypt(p)));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  private encrypt(payload: Payload): Payload {
    const { kid, iv, ct, tag } = this.keys.encrypt(PayloadMessage.encode(payload).finish());
    return { metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(kid) }, data: Buffer.concat([iv, ct, tag]) };
  }

  private decrypt(payload: Payload): Payload {
    const kidBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!kidBytes) throw new PayloadCodecError(`encrypted payload without "${KEY_ID_METADATA}" metadata: cannot tell which PAYLOAD_KEYS key to use`);
    const kid = fromUtf8.decode(kidBytes);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError(`encrypted payload (key "${kid}") is truncated: ${data.length} bytes`);
    try {
      const plain = this.keys.decrypt({ kid, iv: data.subarray(0, IV_BYTES), ct: data.subarray(IV_BYTES, data.length - TAG_BYTES), tag: data.subarray(data.length - TAG_BYTES) }, 'payload');
      return PayloadMessage.decode(plain);
    } catch (err) {
      throw err instanceof CryptoError ? new PayloadCodecError(err.message) : err;
    }
  }
}

/**
 * A copy of a workflow history with every payload decoded (e.g. to keep a history as a test fixture or hand it
 * to someone without the keys). `fetchHistory()` returns history as the server stores it, i.e. encrypted.
 */
export async function decodeHistory(history: proto.temporal.api.history.v1.IHistory, codec: PayloadCodec): Promise<proto.temporal.api.history.v1.History> {
  const copy = HistoryMessage.decode(HistoryMessage.encode(history).finish());
  const found: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; payload: Payload }> = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    if (Array.isArray(node)) {
      node.forEach((child, i) => (child && typeof child === 'object' && isPayloadMessage(child) ? found.push({ holder: node, key: i, payload: child }) : walk(child)));
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (child && typeof child === 'object' && isPayloadMessage(child)) found.push({ holder: node as Record<string, unknown>, key, payload: child });
      else walk(child);
    }
  };
  walk(copy);
  const decoded = await codec.decode(found.map((f) => f.payload));
  found.forEach((f, i) => ((f.holder as Record<string | number, unknown>)[f.key] = PayloadMessage.create(decoded[i]!)));
  return copy;
}
