import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { Anomaly, AnomalyTicketLink, Connection } from '../platform/db/entities.js';
import type { ConnectionKit } from '../connections/kit.js';
import { connectionClient, viaJira } from '../connections/service.js';
import { conflict, invalid, notFound, upstream } from '../platform/errors.js';
import { anomalyLinkWorkflowId, anomalyStatusChangedSignal, commentAddedSignal, refreshLinkUpdate, unlinkSignal, type TicketView } from './messages.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { ask, UpdateRefused, WorkflowNotRunning } from '../platform/temporal/updates.js';
import type { AnomalyStarts } from './starts.js';
import { anomalyBlock, answerTime, statusComment, userComment } from './format.js';
import { enqueueComment } from './outbox.js';
import { ticketAnswer, ticketView } from './ticket-view.js';
import type { TicketAnswer } from './schemas.js';

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);
export const linkIdFor = (anomalyId: string, ticketKey: string) => `lnk_${hash(anomalyId, ticketKey)}`;

export function linkJson(l: AnomalyTicketLink) {
  return {
    link_id: l.linkId,
    anomaly_id: l.anomalyId,
    connection_key: l.connectionKey,
    ticket_key: l.ticketKey,
    ticket_id: l.ticketId,
    url: l.ticketUrl,
    status: l.status,
    status_category: l.statusCategory,
    resolution: l.resolution,
    assignee: l.assignee,
    state: l.state,
    origin: l.origin,
    last_error: l.lastError,
    last_synced_at: answerTime(l.lastSyncedAt),
    workflow_id: l.workflowId,
    created_at: answerTime(l.createdAt),
  };
}

/**
 * The anomaly side of the product. As for privacy requests, PostgreSQL is written first (the anomaly, the
 * link, the comment outbox), then Temporal is told, so a 2xx is durable and a repeated call is safe.
 */
export class AnomalyService {
  constructor(
    private readonly orm: Orm,
    private readonly temporal: Client,
    private readonly kit: ConnectionKit,
    private readonly starts: AnomalyStarts,
  ) {}

  async upsert(data: Omit<Anomaly, 'createdAt' | 'updatedAt'>): Promise<{ created: boolean; anomaly: Anomaly }> {
    const em = this.orm.em.fork();
    const existing = await em.findOne(Anomaly, { id: data.id });
    if (existing) em.assign(existing, data);
    const anomaly = existing ?? em.create(Anomaly, data);
    await em.persist(anomaly).flush();
    return { created: !existing, anomaly };
  }

  async get(id: string): Promise<Anomaly> {
    const a = await this.orm.em.fork().findOne(Anomaly, { id });
    if (!a) throw notFound('anomaly', id);
    return a;
  }

  /** The connection to use: the one named, the anomaly's own, or the only enabled Jira connection. */
  async connectionFor(anomaly: Anomaly | null, requested?: string): Promise<string> {
    const key = requested ?? anomaly?.connectionKey ?? undefined;
    const em = this.orm.em.fork();
    if (key) {
      const c = await em.findOne(Connection, { key });
      if (!c) throw invalid('connection_key', `connection ${key} does not exist`);
      if (c.disabled) throw conflict(`connection ${key} is disabled`, { field: 'connection_key', state: 'disabled' });
      return key;
    }
    const all = await em.find(Connection, { connectionType: 'jira_ticket', disabled: false }, { orderBy: { key: 'asc' } });
    if (all.length === 1) return all[0]!.key;
    throw invalid('connection_key', all.length ? `several Jira connections are enabled (${all.map((c) => c.key).join(', ')}); name one in connection_key` : 'no Jira connection is enabled', {
      field: 'connection_key',
    });
  }

  /** The connection as the reference product names it, by number (`integration_id`), with its key. */
  private async integration(connectionKey: string): Promise<{ integration_id: number; connection_key: string }> {
    const [row] = await this.orm.em.getConnection().execute<Array<{ integration_id: number }>>('select integration_id from connection where key = ?', [connectionKey]);
    if (!row) throw notFound('connection', connectionKey);
    return { integration_id: row.integration_id, connection_key: connectionKey };
  }

  async links(anomalyId: string): Promise<AnomalyTicketLink[]> {
    await this.get(anomalyId);
    return this.orm.em.fork().find(AnomalyTicketLink, { anomalyId, state: { $ne: 'unlinked' } }, { orderBy: { createdAt: 'asc' } });
  }

  /** Creates a ticket for the anomaly (idempotent for an identical request) and links it. */
  async createTicket(anomalyId: string, body: { title: string; description?: string | null; priority?: string | null; connection_key?: string }) {
    const anomaly = await this.get(anomalyId);
    const connectionKey = await this.connectionFor(anomaly, body.connection_key);
    const requestKey = hash(anomalyId, connectionKey, body.title, body.description ?? '', body.priority ?? '');
    const ticket = await this.starts.createTicket({
      anomalyId,
      connectionKey,
      requestKey,
      title: body.title,
      description: body.description ?? '',
      priority: body.priority ?? null,
    });
    await this.ensureLink(anomalyId, connectionKey, ticket.ticket_number, 'created', ticket);
    return { ticket: ticketAnswer(ticket), ...(await this.integration(connectionKey)) };
  }

  /** Links an existing ticket: the anomaly's facts go to it as a comment. Linking it again changes nothing. */
  async linkTicket(anomalyId: string, ticketKey: string, requested?: string) {
    const anomaly = await this.get(anomalyId);
    const connectionKey = await this.connectionFor(anomaly, requested);
    const { client } = await connectionClient(this.orm.em.fork(), this.kit, connectionKey);
    const issue = await viaJira(() => client.getIssue(ticketKey));
    if (!issue) throw invalid('body.ticket_key', `Jira ticket ${ticketKey} does not exist or is not visible to connection ${connectionKey}`);
    return this.ensureLink(anomalyId, connectionKey, issue.key, 'linked', ticketView(client, issue), anomalyBlock(anomaly, new Date()));
  }

  private async ensureLink(anomalyId: string, connectionKey: string, ticketKey: string, origin: 'created' | 'linked', ticket: TicketView, firstComment?: string) {
    const linkId = linkIdFor(anomalyId, ticketKey);
    const workflowId = anomalyLinkWorkflowId(anomalyId, ticketKey);
    const conn = this.orm.em.getConnection();
    // on conflict: linking again is idempotent, and relinks an unlinked ticket; the answer says whether it was new
    const [row] = await conn.execute<Array<{ link_id: string }>>(
      `insert into anomaly_ticket_link (link_id, anomaly_id, connection_key, workflow_id, origin, ticket_id, ticket_key, ticket_url, status, status_category, state)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')
       on conflict (link_id) do update set state = 'active', updated_at = now() where anomaly_ticket_link.state = 'unlinked'
       returning link_id`,
      [linkId, anomalyId, connectionKey, workflowId, origin, ticket.ticket_id, ticketKey, ticket.url, ticket.status, ticket.status_category],
    );
    const isNew = !!row;
    if (isNew && firstComment) await enqueueComment(this.orm, linkId, firstComment);
    await this.starts.followLink({ linkId, anomalyId, connectionKey, ticketKey }, workflowId);
    const link = await this.orm.em.fork().findOneOrFail(AnomalyTicketLink, { linkId });
    return { link, created: isNew };
  }

  private async link(anomalyId: string, linkId: string): Promise<AnomalyTicketLink> {
    const link = await this.orm.em.fork().findOne(AnomalyTicketLink, { linkId, anomalyId });
    if (!link) throw notFound('ticket link', linkId);
    return link;
  }

  /** Delivers queued comments and reads the ticket now (an Update); answers the link as the workflow left it. */
  async refresh(anomalyId: string, linkId: string): Promise<{ link: AnomalyTicketLink; settled: boolean }> {
    const link = await this.link(anomalyId, linkId);
    if (link.state !== 'active') throw conflict(`ticket link ${linkId} is ${link.state}`, { state: link.state });
    let answer;
    try {
      answer = await ask(this.temporal, link.workflowId, refreshLinkUpdate, []);
    } catch (err) {
      if (err instanceof UpdateRefused) throw conflict(err.message, { state: link.state });
      if (err instanceof WorkflowNotRunning) throw conflict(`the workflow of ticket link ${linkId} is not running; link the ticket again`, { state: 'finished' });
      throw err;
    }
    return { link: await this.link(anomalyId, linkId), settled: answer !== undefined };
  }

  async unlink(anomalyId: string, linkId: string) {
    const link = await this.link(anomalyId, linkId);
    if (link.state === 'unlinked') return link;
    await this.orm.em.fork().nativeUpdate(AnomalyTicketLink, { linkId, state: 'active' }, { state: 'unlinking', updatedAt: new Date() });
    await signalIfRunning(this.temporal, link.workflowId, unlinkSignal);
    return link;
  }

  /** Queues the comment on every linked ticket, then wakes their workflows (a lost wake-up is healed by the next poll). */
  private async fanOut(anomalyId: string, body: string, notify: (workflowId: string) => Promise<boolean>): Promise<number> {
    const links = await this.links(anomalyId);
    const active = links.filter((l) => l.state === 'active');
    for (const l of active) await enqueueComment(this.orm, l.linkId, body);
    // A lost wake-up is sent again by the connection's tracker (the comment stays undelivered in the outbox).
    await Promise.all(active.map((l) => notify(l.workflowId).catch(() => false)));
    return active.length;
  }

  async statusChanged(anomalyId: string, status: string, at = new Date()) {
    const em = this.orm.em.fork();
    const anomaly = await em.findOne(Anomaly, { id: anomalyId });
    if (!anomaly) throw notFound('anomaly', anomalyId);
    anomaly.status = status;
    await em.flush();
    return this.fanOut(anomalyId, statusComment(status, at), (id) => signalIfRunning(this.temporal, id, anomalyStatusChangedSignal, { status }));
  }

  async comment(anomalyId: string, author: string, text: string) {
    await this.get(anomalyId);
    return this.fanOut(anomalyId, userComment(author, text), (id) => signalIfRunning(this.temporal, id, commentAddedSignal));
  }

  /** Search by key or summary text; Jira's search has no total, so up to 1,000 matches are read and paged here. */
  async search(query: string, page: number, size: number, requested?: string) {
    const connectionKey = await this.connectionFor(null, requested);
    const { client } = await connectionClient(this.orm.em.fork(), this.kit, connectionKey);
    const q = query.trim().replace(/["\\]/g, '');
    const jql = /^[A-Za-z][A-Za-z0-9_]*-\d+$/.test(q) ? `key = "${q.toUpperCase()}"` : q ? `summary ~ "${q}*" ORDER BY created DESC` : 'ORDER BY created DESC';
    const all: TicketView[] = [];
    let token: string | undefined;
    do {
      const res = await viaJira(() => client.search(jql, ['summary', 'description', 'status', 'priority', 'created', 'updated', 'assignee', 'issuetype', 'project'], 100, token));
      all.push(...res.issues.map((i) => ticketView(client, i)));
      token = res.nextPageToken;
    } while (token && all.length < 1000);
    const items = all.slice((page - 1) * size, page * size).map((v) => {
      const t = ticketAnswer(v);
      return {
        ticket_id: t.ticket_id,
        ticket_number: t.ticket_number,
        title: t.title,
        description: t.description,
        status: t.status,
        priority: t.priority,
        created_at: t.created_at,
        updated_at: t.updated_at,
        assigned_to: t.assigned_to,
        url: t.url,
      };
    });
    return { items, total: all.length, page, size, pages: Math.max(1, Math.ceil(all.length / size)) };
  }

  async ticket(ticketId: string, requested?: string): Promise<TicketAnswer> {
    const connectionKey = await this.connectionFor(null, requested);
    const { client } = await connectionClient(this.orm.em.fork(), this.kit, connectionKey);
    const issue = await viaJira(() => client.getIssue(ticketId));
    if (!issue) throw notFound('Jira ticket', ticketId);
    return ticketAnswer(ticketView(client, issue));
  }

  /**
   * The create-ticket form, from the project's real create metadata: whether description and priority are
   * required, the priorities the project's scheme allows, and every other field Jira requires (which the
   * connection's custom_fields must give, as the form does not take them).
   */
  async formSpecification(requested?: string) {
    const connectionKey = await this.connectionFor(null, requested);
    const { client, settings } = await connectionClient(this.orm.em.fork(), this.kit, connectionKey);
    const meta = await viaJira(async () => {
      const project = (await client.projects()).find((p) => p.key === settings.projectKey);
      const type = project && (await client.issueTypes(project.id)).find((t) => t.name.toLowerCase() === settings.issueType.toLowerCase() || t.id === settings.issueType);
      return type ? client.createMeta(settings.projectKey, type.id) : null;
    });
    const field = (id: string) => meta?.find((f) => f.fieldId === id);
    const priorityMeta = field('priority');
    const priorities = priorityMeta?.allowedValues?.length
      ? priorityMeta.allowedValues.map((v) => v.name ?? v.value ?? '').filter(Boolean)
      : (await viaJira(() => client.priorities())).map((p) => p.name);
    const given = new Set(Object.keys(settings.customFields ?? {}));
    const asked = new Set(['summary', 'description', 'priority', 'project', 'issuetype', 'reporter', 'labels']);
    const others = (meta ?? [])
      .filter((f) => f.required && !f.hasDefaultValue && !asked.has(f.fieldId))
      .map((f) => ({
        name: f.fieldId,
        jira_field: f.fieldId,
        label: f.name,
        type: f.allowedValues?.length ? (f.schema.type === 'array' ? 'multiselect' : 'select') : f.schema.type,
        required: true,
        ...(f.allowedValues?.length ? { options: f.allowedValues.map((v) => ({ value: v.value ?? v.name ?? v.id ?? '', label: v.value ?? v.name ?? v.id ?? '' })) } : {}),
        set_by_connection: given.has(f.fieldId),
      }));
    return {
      ...(await this.integration(connectionKey)),
      project_key: settings.projectKey,
      issue_type: settings.issueType,
      fields: [
        { name: 'title', jira_field: 'summary', label: 'Summary', type: 'string', required: true, max_length: 255 },
        { name: 'description', jira_field: 'description', label: 'Description', type: 'text', required: !!field('description')?.required },
        { name: 'priority', jira_field: 'priority', label: 'Priority', type: 'select', required: !!priorityMeta?.required && !priorityMeta.hasDefaultValue, options: priorities.map((p) => ({ value: p, label: p })) },
        ...others,
      ],
    };
  }
}

/** A failed creation workflow as the API's caller should see it: Jira's refusal (naming its field), the connection's state, or Jira's failure. */
