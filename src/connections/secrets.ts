import type { Connection } from '../platform/db/entities.js';
import type { Keyring, SealedBox } from '../platform/keyring.js';
import { ticketSettings, type TicketSettings } from './settings.js';

/** Credentials are sealed in `connection.credentials`; everything else (templates, project…) stays readable. */
export const SENSITIVE_FIELDS = [
  'username',
  'api_key',
  'access_token',
  'refresh_token',
  'webhook_secret',
  'oauth_client_secret',
  'oauth1_private_key',
  'oauth1_access_token',
  'oauth1_token_secret',
] as const;
const isSensitive = (k: string) => (SENSITIVE_FIELDS as readonly string[]).includes(k);

export class ConnectionSecrets {
  constructor(readonly keyring: Keyring) {}

  /** All of a connection's settings, credentials opened. */
  read(c: Connection): Record<string, unknown> {
    const sealed = c.credentials ? this.keyring.open<Record<string, unknown>>(c.credentials, c.key) : {};
    return { ...c.secrets, ...sealed };
  }

  /** Stores settings, sealing the credentials with the active key. */
  write(c: Connection, all: Record<string, unknown>): void {
    const open = Object.fromEntries(Object.entries(all).filter(([k]) => !isSensitive(k)));
    const sensitive = Object.fromEntries(Object.entries(all).filter(([k]) => isSensitive(k)));
    c.secrets = open;
    c.credentials = Object.keys(sensitive).length ? this.keyring.seal(sensitive, c.key) : null;
  }

  /** Whether the row holds credentials in clear or under a retired key, so `write(read())` would improve it. */
  needsResealing(c: Connection): boolean {
    return Object.keys(c.secrets).some(isSensitive) || (!!c.credentials && (c.credentials as SealedBox).kid !== this.keyring.activeKid);
  }

  settings(c: Connection, opts: { discovery?: boolean } = {}): TicketSettings | { missing: string[] } {
    return ticketSettings(this.read(c), opts);
  }
}

/** Secrets as the API shows them: which credentials are set, never their values. */
export function maskSecrets(all: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, isSensitive(k) && v ? '**********' : v]));
}
