import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { ticketflowClientInterceptors } from './caller.js';

/**
 * The API's and the worker's Temporal client; `codec` (PAYLOAD_KEYS) encrypts what it sends and decrypts what
 * it reads, and every signal and Update it sends is marked as ticketflow's (workflows audit the others as
 * operators' console actions).
 */
export async function connectTemporal(address: string, namespace: string, codec?: PayloadCodec): Promise<Client> {
  const connection = await Connection.connect({ address });
  return ticketflowClient(connection, namespace, codec);
}

export function ticketflowClient(connection: Connection, namespace: string, codec?: PayloadCodec): Client {
  return new Client({ connection, namespace, dataConverter: { payloadCodecs: codec ? [codec] : [] }, interceptors: ticketflowClientInterceptors });
}
