import { z } from 'zod';
import { issueKey, key } from '../http/schemas.js';

/**
 * A time as the reference product writes it: `2026-01-23T15:22:05`, UTC. In a request it may also carry an
 * offset (`Z`, `+01:00`); without one it is UTC, so what an answer says can be sent back.
 */
const givenTime = z.iso
  .datetime({ offset: true, local: true })
  .transform((t) => new Date(/(?:Z|[+-]\d\d:\d\d)$/i.test(t) ? t : `${t}Z`))
  .describe('ISO 8601; without an offset it is UTC (2026-01-23T15:22:05, as answers write it)');

export const anomalySchema = z
  .object({
    datastore_id: z.union([z.string().max(200), z.number().int()]).transform(String).nullish(),
    type: z.string().min(1).max(100),
    status: z.string().min(1).max(50),
    detected_at: givenTime.nullish(),
    failed_checks: z.array(z.string().max(2000)).max(100).default([]),
    url: z.url({ protocol: /^https?$/ }).max(2000).nullish(),
    connection_key: key.nullish(),
  })
  .strict();

export const createTicketSchema = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(255),
    description: z.string().max(30_000).nullish(),
    priority: z.string().min(1).max(100).nullish(),
    connection_key: key.optional(),
  })
  .strict();

export const linkTicketSchema = z.object({ ticket_key: issueKey, connection_key: key.optional() }).strict();
export const anomalyStatusSchema = z.object({ status: z.string().trim().min(1).max(50), actor: z.string().max(200).optional() }).strict();
export const anomalyCommentSchema = z.object({ text: z.string().trim().min(1, 'must not be empty').max(10_000), author: z.string().trim().min(1).max(200) }).strict();
export const ticketSearchQuery = z
  .object({
    query: z.string().max(200).default(''),
    page: z.coerce.number().int().min(1).default(1),
    size: z.coerce.number().int().min(1).max(100).default(50),
    connection_key: key.optional(),
  })
  .strict();
export const connectionQuery = z.object({ connection_key: key.optional() }).strict();
export const ticketIdParam = z.string().regex(/^([A-Za-z][A-Za-z0-9_]*-\d+|\d+)$/, 'must be an issue id or key');

// ---- Answers ----

/** Every time these endpoints answer, in the reference product's format (src/anomalies/format.ts, answerTime). */
const time = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
  .describe('UTC, to the second, without an offset, as the reference product writes times: 2026-01-23T15:22:05');
const maybeTime = time.nullable();

/** The anomaly's id as the upstream sent it: numbers stay numbers (the reference product's ids are numeric). */
const givenId = z.union([z.number(), z.string()]);

export const anomalyAnswer = z
  .object({
    id: givenId,
    datastore_id: z.string().nullable(),
    type: z.string(),
    status: z.string(),
    detected_at: maybeTime,
    failed_checks: z.array(z.string()),
    url: z.string().nullable(),
    connection_key: z.string().nullable(),
    created_at: time,
    updated_at: time,
  })
  .strict();

/**
 * The reference product's ticket object, every field of it, plus ticketflow's `status_category` (Jira's
 * new/indeterminate/done). Fields Jira has no counterpart for are null (src/anomalies/ticket-view.ts says why).
 */
export const ticketViewAnswer = z
  .object({
    ticket_id: z.string(),
    ticket_number: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.string(),
    status_category: z.string(),
    priority: z.string().nullable(),
    urgency: z.string().nullable(),
    impact: z.string().nullable(),
    category: z.string().nullable(),
    subcategory: z.string().nullable(),
    created_at: maybeTime,
    updated_at: maybeTime,
    resolved_at: maybeTime,
    closed_at: maybeTime,
    assigned_to: z.string().nullable(),
    assigned_group: z.string().nullable(),
    requester: z.string().nullable(),
    url: z.string(),
    comments_count: z.number().int().nullable(),
    metadata: z.object({ project_key: z.string().nullable(), issue_type: z.string().nullable() }).strict(),
  })
  .strict();
export type TicketAnswer = z.infer<typeof ticketViewAnswer>;

export const linkAnswer = z
  .object({
    link_id: z.string(),
    anomaly_id: z.string(),
    connection_key: z.string(),
    ticket_key: z.string(),
    ticket_id: z.string().nullable(),
    url: z.string().nullable(),
    status: z.string().nullable(),
    status_category: z.string().nullable(),
    resolution: z.string().nullable(),
    assignee: z.string().nullable(),
    state: z.enum(['active', 'unlinking', 'unlinked']),
    origin: z.enum(['created', 'linked']),
    last_error: z.string().nullable(),
    last_synced_at: maybeTime,
    workflow_id: z.string(),
    created_at: time,
  })
  .strict();

/** The connection as the reference product names it: a number; ticketflow's key for it beside. */
const integration = { integration_id: z.number().int(), connection_key: z.string() };

export const createdAnswer = z.object({ ticket: ticketViewAnswer, anomaly_id: givenId, ...integration, message: z.string() }).strict();
export const notifiedAnswer = z.object({ anomaly_id: givenId, status: z.string().optional(), tickets_notified: z.number().int() }).strict();
const searchItem = ticketViewAnswer.pick({ ticket_id: true, ticket_number: true, title: true, description: true, status: true, priority: true, created_at: true, updated_at: true, assigned_to: true, url: true });
export const searchAnswer = z.object({ items: z.array(searchItem), total: z.number().int(), page: z.number().int(), size: z.number().int(), pages: z.number().int() }).strict();
const formField = z
  .object({
    name: z.string(),
    jira_field: z.string(),
    label: z.string(),
    type: z.string(),
    required: z.boolean(),
    max_length: z.number().int().optional(),
    options: z.array(z.object({ value: z.string(), label: z.string() }).strict()).optional(),
    /** a field Jira requires that the form does not take: the connection's custom_fields must give it (true when they do) */
    set_by_connection: z.boolean().optional(),
  })
  .strict();
export const formAnswer = z.object({ ...integration, project_key: z.string(), issue_type: z.string(), fields: z.array(formField) }).strict();
