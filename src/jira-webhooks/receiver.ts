import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { jwtVerify } from 'jose';
import { DomainError, malformed, unauthenticated } from '../platform/errors.js';
import type { Orm } from '../platform/db/orm.js';
import { Connection, WebhookDelivery } from '../platform/db/entities.js';
import type { ConnectionSecrets } from '../connections/secrets.js';
import { normaliseBaseUrl } from '../jira/client.js';
import { park, pruneParked, tell, unpark, watchersOf, type TicketNews } from '../tracker/watchers.js';
import { categoryOf, countsAsDone } from '../jira/status.js';

/** The part of Jira's webhook payload we read (jira:issue_*, comment_*). */
interface JiraWebhookPayload {
  webhookEvent?: string;
  issue?: {
    id?: string;
    key?: string;
    self?: string;
    fields?: {
      status?: { id?: string; name?: string; statusCategory?: { key?: string } };
      resolution?: { name?: string } | null;
      assignee?: { displayName?: string } | null;
      updated?: string;
    };
  };
}

export type WebhookOutcome =
  | { kind: 'applied'; signalled: number }
  | { kind: 'duplicate' }
  /** no workflow tracks the issue yet: kept a while for the one that may start tracking it */
  | { kind: 'parked'; reason: string }
  | { kind: 'ignored'; reason: string };

/**
 * Turns Jira's webhook deliveries into workflow signals, without a call to Jira: verify the sender, apply a
 * delivery once (Jira retries for about 30 minutes with the same identifier), and tell every workflow that
 * tracks the issue what it now looks like. The delivery is recorded in the same transaction that signals, so
 * a failure leaves nothing recorded and Jira's retry is processed in full.
 */
export class JiraWebhooks {
  constructor(
    private readonly orm: Orm,
    private readonly temporal: Client,
    private readonly secrets: ConnectionSecrets,
    private readonly opts: { oauthClientSecret?: string },
  ) {}

  async receive(raw: Buffer, headers: Record<string, string | string[] | undefined>, connectionKey?: string): Promise<WebhookOutcome> {
    const header = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    let payload: JiraWebhookPayload;
    try {
      payload = JSON.parse(raw.toString('utf8')) as JiraWebhookPayload;
    } catch {
      throw malformed('body', 'the body is not JSON');
    }
    const connection = await this.sender(raw, payload, header('x-hub-signature'), header('authorization'), connectionKey);
    const deliveryId = header('x-atlassian-webhook-identifier')?.slice(0, 200) || createHash('sha256').update(raw).digest('hex');

    const issue = payload.issue;
    if (!issue?.key) return { kind: 'ignored', reason: `${payload.webhookEvent ?? 'event'} without an issue` };
    const ref = { key: issue.key, id: issue.id ?? null };
    const news = newsOf(payload, this.secrets.read(connection).done_status_ids as string[] | null | undefined);

    return this.orm.em.fork().transactional(async (em) => {
      // on conflict: the first of Jira's retries to arrive applies it; the insert tells which one that is.
      const inserted = await em.execute<Array<{ id: string }>>(
        'insert into webhook_delivery (id, connection_key) values (?, ?) on conflict do nothing returning id',
        [deliveryId, connection.key],
      );
      if (inserted.length === 0) return { kind: 'duplicate' } as const;
      // Parked before the watchers are looked up: a workflow that records the issue's key meanwhile either is
      // found here, or finds the parked news when it records (or its tracker's next cycle does).
      const parkedId = await park(em, connection.key, ref, news);
      const watchers = await watchersOf(em, connection.key, ref);
      if (watchers.length === 0) return { kind: 'parked', reason: `no workflow tracks ${issue.key} yet` } as const;
      await unpark(em, parkedId);
      // A moved issue arrives under its new key; each workflow is told by the key it tracks.
      return { kind: 'applied', signalled: await tell(this.temporal, watchers, news) } as const;
    });
  }

  /** The connection that sent this delivery, proven by its signature; anything unproven is refused. */
  private async sender(raw: Buffer, payload: JiraWebhookPayload, signature: string | undefined, authorization: string | undefined, connectionKey?: string): Promise<Connection> {
    const em = this.orm.em.fork();
    let candidates: Connection[];
    if (connectionKey) {
      const c = await em.findOne(Connection, { key: connectionKey, connectionType: 'jira_ticket' });
      if (!c) throw new DomainError('not_found', `no connection ${connectionKey}`, { field: 'path.connectionKey' });
      candidates = [c];
    } else {
      const all = await em.find(Connection, { connectionType: 'jira_ticket', disabled: false });
      const site = siteOf(payload.issue?.self);
      // The site named in the payload is tried first; the signature decides.
      candidates = all.sort((a, b) => Number(this.siteUrl(b) === site) - Number(this.siteUrl(a) === site));
    }
    const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    for (const c of candidates) {
      const settings = this.secrets.read(c);
      if (signature && typeof settings.webhook_secret === 'string' && validHubSignature(raw, signature, settings.webhook_secret)) return c;
      if (bearer && settings.auth_method === 'oauth2' && this.opts.oauthClientSecret && (await validJwt(bearer, this.opts.oauthClientSecret))) return c;
    }
    throw unauthenticated(signature || bearer ? "the signature does not match any connection's webhook secret" : 'unsigned delivery: set a webhook secret in Jira (X-Hub-Signature)', 'header.x-hub-signature');
  }

  private siteUrl(c: Connection): string | undefined {
    const s = this.secrets.read(c);
    const site = (s.domain ?? s.site_url) as string | undefined;
    try {
      return site ? normaliseBaseUrl(site) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Deliveries are kept a day: Jira stops retrying after about 30 minutes. Parked news, minutes. */
  async prune(): Promise<void> {
    await this.orm.em.fork().nativeDelete(WebhookDelivery, { receivedAt: { $lt: new Date(Date.now() - 86_400_000) } });
    await pruneParked(this.orm.em.getConnection());
  }
}

function newsOf(p: JiraWebhookPayload, doneStatusIds?: string[] | null): TicketNews {
  if (p.webhookEvent === 'jira:issue_deleted') return { status: null, statusCategory: 'deleted', updated: null };
  const f = p.issue?.fields;
  if (!f?.status?.name) return null; // e.g. comment events carry no status: read it instead
  return {
    status: f.status.name,
    statusCategory: categoryOf(f.status.statusCategory?.key),
    ...('resolution' in f ? { resolution: f.resolution?.name ?? null } : {}),
    ...('assignee' in f ? { assignee: f.assignee?.displayName ?? null } : {}),
    updated: f.updated ?? null,
    // With a status mapping, whether this status counts as done is decided here, by the status id Jira sent.
    ...(doneStatusIds?.length ? { statusId: f.status.id, done: countsAsDone(doneStatusIds, f.status.id, f.status.statusCategory?.key) } : {}),
  };
}

function siteOf(self: string | undefined): string | undefined {
  try {
    return self ? new URL(self).origin : undefined;
  } catch {
    return undefined;
  }
}

/** Jira's admin webhooks: X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>. */
export function validHubSignature(raw: Buffer, header: string, secret: string): boolean {
  const [method, hex] = header.split('=', 2);
  if (method !== 'sha256' || !hex) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Dynamic webhooks of an OAuth app arrive with a JWT signed (HS256) with the app's client secret. Only HS256
 * is accepted (never `none`, nor an algorithm the token chooses), and `exp`/`nbf` allow 60 s of clock skew.
 */
export async function validJwt(token: string, secret: string, currentDate?: Date): Promise<boolean> {
  try {
    await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'], clockTolerance: 60, ...(currentDate ? { currentDate } : {}) });
    return true;
  } catch {
    // Malformed, forged, expired or of another algorithm: the delivery is refused as unproven.
    return false;
  }
}
