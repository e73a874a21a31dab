import { createHmac, randomUUID } from 'node:crypto';
import { compileJql } from './jql.js';
import type { FakeIssue } from './store.js';

/** Every event Jira lets a webhook subscribe to; the fake fires the first four. */
export const JIRA_WEBHOOK_EVENTS = [
  'jira:issue_created',
  'jira:issue_updated',
  'jira:issue_deleted',
  'comment_created',
  'comment_updated',
  'comment_deleted',
  'issue_property_set',
  'issue_property_deleted',
] as const;
export type FiredEvent = (typeof JIRA_WEBHOOK_EVENTS)[0 | 1 | 2 | 3];

/** Dynamic (REST-registered) webhooks live 30 days unless refreshed, as in Jira Cloud. */
const DYNAMIC_LIFETIME_MS = 30 * 24 * 3600 * 1000;
const MAX_DELIVERIES_KEPT = 10_000;

interface Hook {
  id: number;
  kind: 'admin' | 'dynamic';
  url: string;
  /** undefined: every event (an admin webhook registered without a list) */
  events?: string[];
  jqlFilter?: string;
  fieldIdsFilter?: string[];
  matches: (i: FakeIssue) => boolean;
  secret?: string;
  /** The OAuth app that registered a dynamic webhook; only it sees and manages it. */
  clientId?: string;
  expiresAt?: number;
  name?: string;
  /** registered through Data Center's REST webhooks API (an administrator's credentials) */
  registered?: boolean;
}

export interface Delivery {
  seq: number;
  at: string;
  /** X-Atlassian-Webhook-Identifier: one per event and webhook, the same on every retry */
  identifier: string;
  webhookId: number;
  kind: Hook['kind'];
  url: string;
  event: FiredEvent;
  issueKey: string;
  /** 1 for the first try; X-Atlassian-Webhook-Retry is attempt - 1 */
  attempt: number;
  /** the receiver's status code, or null when it could not be reached */
  status: number | null;
  error?: string;
}

export interface WebhookOptions {
  /** Retries after a failed first attempt (default 3) */
  retries?: number;
  /** Wait before retry n is backoffMs × 2^(n-1) (default 200) */
  backoffMs?: number;
  timeoutMs?: number;
  /** The OAuth app's client secret: dynamic deliveries carry a JWT signed with it, as Jira signs them for the app */
  clientSecret?: string;
}

export type Registration = { createdWebhookId: number } | { errors: string[] };

/**
 * Jira's outgoing webhooks: admin ones (System > WebHooks, optionally with a secret for X-Hub-Signature) and
 * dynamic ones an OAuth app registers through the REST API. Deliveries are asynchronous and retried.
 */
export class FakeWebhooks {
  private readonly hooks = new Map<number, Hook>();
  private nextId = 10_000;
  private log: Delivery[] = [];
  private seq = 0;
  /** Deliveries started before a reset must not write into the fresh log. */
  private generation = 0;

  constructor(private readonly opts: WebhookOptions = {}) {}

  /** An admin webhook; `registered`: created through Data Center's REST webhooks API rather than the UI. */
  addAdmin(spec: { url: string; secret?: string; events?: string[]; jqlFilter?: string; name?: string; registered?: boolean }): number {
    return this.add({ kind: 'admin', url: spec.url, secret: spec.secret || undefined, events: spec.events, jqlFilter: spec.jqlFilter, name: spec.name, registered: spec.registered });
  }

  register(clientId: string, url: string, details: Array<{ events?: string[]; jqlFilter?: string; fieldIdsFilter?: string[] }>): Registration[] {
    return details.map((d) => {
      const errors: string[] = [];
      if (!d.events?.length) errors.push('At least one event must be specified.');
      for (const e of d.events ?? []) if (!(JIRA_WEBHOOK_EVENTS as readonly string[]).includes(e)) errors.push(`The event ${e} is not supported.`);
      if (typeof d.jqlFilter !== 'string') errors.push('The JQL filter must be specified.');
      if (errors.length) return { errors };
      const id = this.add({ kind: 'dynamic', url, clientId, events: d.events, jqlFilter: d.jqlFilter, fieldIdsFilter: d.fieldIdsFilter, expiresAt: Date.now() + DYNAMIC_LIFETIME_MS });
      return { createdWebhookId: id };
    });
  }

  /**
   * The live dynamic webhooks of an app. Expired ones are gone for the app, as Jira purges them: refreshing
   * cannot bring one back, the app has to register again.
   */
  ownedBy(clientId: string): Array<{ id: number; url: string; events: string[]; jqlFilter: string; fieldIdsFilter?: string[]; expirationDate: number }> {
    return this.live()
      .filter((h) => h.kind === 'dynamic' && h.clientId === clientId)
      .map((h) => ({ id: h.id, url: h.url, events: h.events!, jqlFilter: h.jqlFilter!, ...(h.fieldIdsFilter ? { fieldIdsFilter: h.fieldIdsFilter } : {}), expirationDate: h.expiresAt! }));
  }

  /** Ids that are not the app's (or no longer live) are ignored, as Jira ignores them. */
  remove(clientId: string, ids: number[]): void {
    for (const id of this.ownIds(clientId, ids)) this.hooks.delete(id);
  }

  refresh(clientId: string, ids: number[]): number {
    const expiresAt = Date.now() + DYNAMIC_LIFETIME_MS;
    for (const id of this.ownIds(clientId, ids)) this.hooks.get(id)!.expiresAt = expiresAt;
    return expiresAt;
  }

  expireDynamic(): number {
    const dynamic = [...this.hooks.values()].filter((h) => h.kind === 'dynamic');
    for (const h of dynamic) h.expiresAt = Date.now() - 1;
    return dynamic.length;
  }

  /** Removes one admin webhook, or all of them without an id; true when something was removed. */
  removeAdmin(id?: number): boolean {
    const doomed = [...this.hooks.values()].filter((h) => h.kind === 'admin' && (id === undefined || h.id === id));
    for (const h of doomed) this.hooks.delete(h.id);
    return doomed.length > 0;
  }

  list() {
    return [...this.hooks.values()].map((h) => ({
      id: h.id,
      kind: h.kind,
      url: h.url,
      events: h.events ?? null,
      jqlFilter: h.jqlFilter ?? null,
      ...(h.fieldIdsFilter ? { fieldIdsFilter: h.fieldIdsFilter } : {}),
      ...(h.name ? { name: h.name } : {}),
      ...(h.kind === 'admin' ? { hasSecret: !!h.secret, registered: !!h.registered } : { clientId: h.clientId, expirationDate: h.expiresAt, expired: h.expiresAt! <= Date.now() }),
    }));
  }

  deliveries(since = 0): Delivery[] {
    return this.log.filter((d) => d.seq > since);
  }

  reset(): void {
    this.hooks.clear();
    this.log = [];
    this.generation += 1;
  }

  /**
   * Sends an event to every live webhook that wants it. The payload is built now (a snapshot of the issue as
   * the event left it), once, and only when some webhook wants it; the sending happens after the caller returns.
   */
  dispatch(event: FiredEvent, issue: FakeIssue, changedFields: string[], payload: () => object): void {
    const targets = this.live().filter(
      (h) =>
        (!h.events || h.events.includes(event)) &&
        (event !== 'jira:issue_updated' || !h.fieldIdsFilter || h.fieldIdsFilter.some((f) => changedFields.includes(f))) &&
        h.matches(issue),
    );
    if (!targets.length) return;
    const raw = JSON.stringify(payload());
    for (const hook of targets) void this.deliver(hook, { identifier: randomUUID(), raw, event, issueKey: issue.key });
  }

  private add(spec: Omit<Hook, 'id' | 'matches'>): number {
    const id = this.nextId++;
    this.hooks.set(id, { ...spec, id, matches: jqlMatcher(spec.jqlFilter) });
    return id;
  }

  private live(): Hook[] {
    const now = Date.now();
    return [...this.hooks.values()].filter((h) => h.expiresAt === undefined || h.expiresAt > now);
  }

  private ownIds(clientId: string, ids: number[]): number[] {
    const own = new Set(this.ownedBy(clientId).map((h) => h.id));
    return ids.filter((id) => own.has(id));
  }

  private async deliver(hook: Hook, d: { identifier: string; raw: string; event: FiredEvent; issueKey: string }): Promise<void> {
    const retries = this.opts.retries ?? 3;
    const backoffMs = this.opts.backoffMs ?? 200;
    const generation = this.generation;
    const signature = hook.secret ? `sha256=${createHmac('sha256', hook.secret).update(d.raw).digest('hex')}` : undefined;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-atlassian-webhook-identifier': d.identifier };
      if (attempt > 1) headers['x-atlassian-webhook-retry'] = String(attempt - 1);
      if (signature) headers['x-hub-signature'] = signature;
      if (hook.kind === 'dynamic' && this.opts.clientSecret) headers.authorization = `Bearer ${appJwt(this.opts.clientSecret, hook.clientId || 'fake-jira')}`;
      let status: number | null = null;
      let error: string | undefined;
      try {
        const res = await fetch(hook.url, { method: 'POST', headers, body: d.raw, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
        status = res.status;
        await res.body?.cancel();
      } catch (err) {
        const e = err as Error & { cause?: Error };
        error = e.cause?.message ?? e.message;
      }
      if (generation !== this.generation) return;
      this.log.push({ seq: ++this.seq, at: new Date().toISOString(), identifier: d.identifier, webhookId: hook.id, kind: hook.kind, url: hook.url, event: d.event, issueKey: d.issueKey, attempt, status, ...(error ? { error } : {}) });
      if (this.log.length > MAX_DELIVERIES_KEPT) this.log.splice(0, this.log.length - MAX_DELIVERIES_KEPT);
      if ((status !== null && status >= 200 && status < 300) || attempt > retries) return;
      await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
    }
  }
}

/** Jira accepts JQL the fake cannot evaluate (status, issuetype, …); such a webhook gets every event. */
function jqlMatcher(jql: string | undefined): (i: FakeIssue) => boolean {
  if (!jql?.trim()) return () => true;
  try {
    return compileJql(jql).filter;
  } catch {
    return () => true;
  }
}

/** The token Jira puts on deliveries to an OAuth 2.0 app: HS256 with the app's client secret, short-lived. */
function appJwt(secret: string, iss: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss, iat, exp: iat + 180 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
