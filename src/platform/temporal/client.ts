import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';

/** The API's Temporal client; `codec` (PAYLOAD_KEYS) encrypts what it sends and decrypts what it reads. */
export async function connectTemporal(address: string, namespace: string, codec?: PayloadCodec): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace, dataConverter: { payloadCodecs: codec ? [codec] : [] } });
}
