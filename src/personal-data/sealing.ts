import type { Keyring, SealedBox } from '../platform/keyring.js';

/** The data subject's identity as the upstream sent it: the only personal data a privacy request carries. */
export interface Identity {
  email: string | null;
  phone: string | null;
}

export const NO_IDENTITY: Identity = { email: null, phone: null };

/**
 * Personal data at rest: a request's identity and a manual task's submitted data are sealed with the keyring
 * that seals connection credentials (SECRET_KEYS: AES-256-GCM, each box naming its key id), and opened here
 * only. Each box is bound to its row (the request id, the instance id): a box copied to another row does
 * not open.
 */
export class PersonalDataSeal {
  constructor(readonly keyring: Keyring) {}

  /** Null when there is nothing to seal, so an erased or empty identity leaves no box behind. */
  sealIdentity(requestId: string, identity: Identity): SealedBox | null {
    if (!identity.email && !identity.phone) return null;
    return this.keyring.seal({ email: identity.email ?? null, phone: identity.phone ?? null }, identityContext(requestId));
  }

  openIdentity(request: { id: string; identity?: SealedBox | null }): Identity {
    if (!request.identity) return NO_IDENTITY;
    const opened = this.keyring.open<Partial<Identity>>(request.identity, identityContext(request.id));
    return { email: opened.email ?? null, phone: opened.phone ?? null };
  }

  sealSubmitted(instanceId: string, data: Record<string, unknown>): SealedBox {
    return this.keyring.seal(data, submittedContext(instanceId));
  }

  openSubmitted(row: { instanceId: string; sealed?: SealedBox | null }): Record<string, unknown> | null {
    return row.sealed ? this.keyring.open<Record<string, unknown>>(row.sealed, submittedContext(row.instanceId)) : null;
  }

  /** A box sealed under a key that is no longer the active one: re-sealed at start, so an old key can be retired. */
  isStale(box: SealedBox | null | undefined): boolean {
    return !!box && box.kid !== this.keyring.activeKid;
  }
}

const identityContext = (requestId: string) => `privacy_request/${requestId}/identity`;
const submittedContext = (instanceId: string) => `submitted_data/${instanceId}`;
