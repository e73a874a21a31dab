import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { SealedBox } from '../keyring.js';

/**
 * A ticketing connection (one Jira site + project configuration). Secrets are kept apart from the public part. Its
 * number, `integration_id` (what the anomaly endpoints call it, as the reference product does), is given by the
 * database and never written, so it is read with SQL where it is answered rather than mapped here.
 */
export const Connection = defineEntity({
  name: 'Connection',
  tableName: 'connection',
  properties: {
    key: p.string().primary(),
    name: p.string(),
    connectionType: p.string(),
    access: p.string(),
    disabled: p.boolean().default(false),
    secrets: p.json<Record<string, unknown>>().default('{}'),
    /** Credentials sealed with AES-256-GCM (see ConnectionSecrets); null when none are set. */
    credentials: p.json<SealedBox>().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Connection = InferEntity<typeof Connection>;

/**
 * A privacy request as the upstream system knows it. Its identity (email, phone) is the one piece of
 * personal data, sealed in `identity` (personal-data/sealing.ts) and erased after retention or on demand;
 * the legacy plain columns `email` and `phone` stay in the table, always null (they are sealed at start).
 */
export const PrivacyRequest = defineEntity({
  name: 'PrivacyRequest',
  tableName: 'privacy_request',
  properties: {
    id: p.string().primary(),
    requestType: p.string(),
    status: p.string(),
    submittedAt: p.datetime().nullable(),
    approvedAt: p.datetime().nullable(),
    dueDate: p.datetime().nullable(),
    policyName: p.string().nullable(),
    /** The data subject's email and phone, sealed (SECRET_KEYS); null when there are none or they were erased. */
    identity: p.json<SealedBox>().nullable(),
    requestUrl: p.string().nullable(),
    manualTasksCompletedAt: p.datetime().nullable(),
    manualTasksCompletedBy: p.string().nullable(),
    /** When the request was canceled or denied (null again if it is reopened): with manual_tasks_completed_at, starts the retention period. */
    closedAt: p.datetime().nullable(),
    /** When personal data of this request was last erased (retention or on demand); null: never. */
    personalDataErasedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type PrivacyRequest = InferEntity<typeof PrivacyRequest>;

/**
 * One Jira ticket instance (privacy request × connection). A read model: the workflow owns the state and
 * writes each change here with an increasing sequence number, so late or repeated writes never go backwards.
 */
export const JiraTicketInstance = defineEntity({
  name: 'JiraTicketInstance',
  tableName: 'jira_ticket_instance',
  properties: {
    instanceId: p.string().primary(),
    privacyRequestId: p.string().index(),
    connectionKey: p.string(),
    workflowId: p.string().unique(),
    ticketId: p.string().nullable(),
    ticketKey: p.string().nullable().index(),
    ticketUrl: p.string().nullable(),
    status: p.string().nullable(),
    statusCategory: p.string().nullable(),
    taskState: p.string(),
    dataSubmitted: p.boolean().default(false),
    lastError: p.text().nullable(),
    stateSeq: p.integer().default(0),
    /** Jira's `updated` of the ticket as the workflow last recorded it: the tracker signals only newer changes. */
    jiraUpdated: p.string().nullable(),
    /** Jira's resolution of the ticket (e.g. "Won't Do"), as last recorded. */
    resolution: p.string().nullable(),
    /** The workflow has seen the submitted data (false with data_submitted: a lost signal, sent again). */
    dataSeen: p.boolean().default(false),
    /** A creation retried after a lost reply: look for a duplicate once Jira's search has caught up. */
    duplicateCheckAfter: p.datetime().nullable(),
    /** The workflow is still to be started (TicketWorkflowStarts); tried `startAttempts` times, next after `startAfter`. */
    startPending: p.boolean().default(false),
    startAttempts: p.integer().default(0),
    startAfter: p.datetime().nullable(),
    workflowStartedAt: p.datetime().nullable(),
    /** The ticket ticketflow created (and rendered the templates into), even if another was linked since. */
    renderedTicketKey: p.string().nullable(),
    /** The ticket's fields whose templates rendered personal variables (null: created before this was recorded). */
    personalFields: p.array().nullable(),
    /** Redaction of the rendered ticket in Jira after an erasure: pending, done or ticket_gone; null: not asked. */
    jiraRedaction: p.string().nullable(),
    jiraRedactedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type JiraTicketInstance = InferEntity<typeof JiraTicketInstance>;

/**
 * The manual task's data, sealed (SECRET_KEYS). Kept out of Temporal: the workflow only learns *that* data was
 * submitted. Erasure empties `sealed` and keeps the row: the fact that data was submitted, when, and when it
 * was erased. The legacy plain column `data` stays in the table, always null (sealed at start).
 */
export const SubmittedData = defineEntity({
  name: 'SubmittedData',
  tableName: 'submitted_data',
  properties: {
    instanceId: p.string().primary(),
    sealed: p.json<SealedBox>().nullable(),
    submittedAt: p.datetime(),
    erasedAt: p.datetime().nullable(),
  },
});
export type SubmittedData = InferEntity<typeof SubmittedData>;

/** A data anomaly as the upstream data-quality tool knows it. */
export const Anomaly = defineEntity({
  name: 'Anomaly',
  tableName: 'anomaly',
  properties: {
    id: p.string().primary(),
    datastoreId: p.string().nullable(),
    type: p.string(),
    status: p.string(),
    detectedAt: p.datetime().nullable(),
    failedChecks: p.json<string[]>(),
    url: p.string().nullable(),
    connectionKey: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type Anomaly = InferEntity<typeof Anomaly>;

/** One anomaly ↔ ticket link (a long-running workflow); like ticket instances, a read model the workflow writes. */
export const AnomalyTicketLink = defineEntity({
  name: 'AnomalyTicketLink',
  tableName: 'anomaly_ticket_link',
  properties: {
    linkId: p.string().primary(),
    anomalyId: p.string(),
    connectionKey: p.string(),
    workflowId: p.string().unique(),
    origin: p.string(),
    ticketId: p.string().nullable(),
    ticketKey: p.string(),
    ticketUrl: p.string().nullable(),
    status: p.string().nullable(),
    statusCategory: p.string().nullable(),
    resolution: p.string().nullable(),
    assignee: p.string().nullable(),
    state: p.string(),
    lastError: p.text().nullable(),
    lastSyncedAt: p.datetime().nullable(),
    commentSeq: p.integer().default(0),
    stateSeq: p.integer().default(0),
    jiraUpdated: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type AnomalyTicketLink = InferEntity<typeof AnomalyTicketLink>;

/** A webhook delivery about an issue no workflow tracked yet, kept a while so the workflow that starts tracking it gets it. */
export const WebhookParked = defineEntity({
  name: 'WebhookParked',
  tableName: 'webhook_parked',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    connectionKey: p.string(),
    issueKey: p.string(),
    issueId: p.string().nullable(),
    change: p.json<Record<string, unknown>>(),
    receivedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type WebhookParked = InferEntity<typeof WebhookParked>;

/** The last cycle of a connection's tracker, as the API and console show it (the workflow is the source of truth). */
export const JiraTracker = defineEntity({
  name: 'JiraTracker',
  tableName: 'jira_tracker',
  properties: {
    connectionKey: p.string().primary(),
    cycle: p.integer().default(0),
    lastCycleAt: p.datetime().nullable(),
    nextCycleAt: p.datetime().nullable(),
    lastReconcileAt: p.datetime().nullable(),
    tracked: p.integer().default(0),
    changed: p.integer().default(0),
    calls: p.integer().default(0),
    points: p.integer().default(0),
    lastError: p.text().nullable(),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export type JiraTracker = InferEntity<typeof JiraTracker>;

/** One comment of an anomaly link's outbox, numbered in the order accepted; delivered once, in order. */
export const AnomalyComment = defineEntity({
  name: 'AnomalyComment',
  tableName: 'anomaly_comment',
  properties: {
    linkId: p.string().primary(),
    seq: p.integer().primary(),
    body: p.text(),
    acceptedAt: p.datetime().onCreate(() => new Date()),
    deliveredAt: p.datetime().nullable(),
    jiraCommentId: p.string().nullable(),
  },
});
export type AnomalyComment = InferEntity<typeof AnomalyComment>;

/** A webhook delivery already applied (by Jira's X-Atlassian-Webhook-Identifier): Jira's retries are answered "duplicate". */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_delivery',
  properties: {
    id: p.string().primary(),
    connectionKey: p.string(),
    receivedAt: p.datetime().onCreate(() => new Date()),
  },
});
export type WebhookDelivery = InferEntity<typeof WebhookDelivery>;

/** A single-use OAuth `state`, stored hashed, bound to its connection and expiring. */
export const OAuthState = defineEntity({
  name: 'OAuthState',
  tableName: 'oauth_state',
  properties: {
    stateHash: p.string().primary(),
    connectionKey: p.string(),
    expiresAt: p.datetime(),
    /** where the callback sends the browser: null answers JSON, 'console' redirects to the console */
    returnTo: p.string().nullable(),
    /** What the callback needs besides the state (a PKCE verifier, a request token's secret), sealed to the connection. */
    secret: p.json<SealedBox>().nullable(),
  },
});
export type OAuthState = InferEntity<typeof OAuthState>;

/** An API token: only a hash of its secret is kept. */
export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_token',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    scopes: p.array(),
    secretHash: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type ApiToken = InferEntity<typeof ApiToken>;

/**
 * One audited action: a state-changing API call, or a signal or Update an operator sent from outside
 * ticketflow (the Temporal UI or CLI). Never the request's body or any personal data: who, what route, which
 * ids, the outcome. Append-only for the application (a trigger refuses updates, and deletes of entries younger
 * than 30 days; see the migration).
 */
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    at: p.datetime().onCreate(() => new Date()),
    /** api_token, jira_webhook, oauth_redirect, temporal_console, cli */
    actor: p.string(),
    tokenId: p.string().nullable(),
    tokenName: p.string().nullable(),
    method: p.string().nullable(),
    /** the route template (`POST /api/v1/privacy-request/:id/jira-tickets/:instance/retry`), or `signal retry` */
    route: p.string(),
    /** kind → id, e.g. {"privacy_request": "pri_1", "instance": "jti_…"} */
    targets: p.json<Record<string, string | string[]>>(),
    /** every id of `targets`, for the `target=` filter */
    targetIds: p.array(),
    status: p.integer().nullable(),
    /** the Temporal message the action sent or received (`update retryCreation`, `signal close`) */
    temporal: p.string().nullable(),
    requestId: p.string().nullable(),
  },
});
export type AuditEntry = InferEntity<typeof AuditEntry>;

/**
 * Every table is an entity here but two: `jira_budget` belongs to rate-limiter-flexible (its own schema, its own
 * queries), and `mikro_orm_migrations` to the migrator.
 */
export const entities = [Connection, PrivacyRequest, JiraTicketInstance, SubmittedData, Anomaly, AnomalyTicketLink, AnomalyComment, WebhookDelivery, OAuthState, ApiToken, WebhookParked, JiraTracker, AuditEntry];
