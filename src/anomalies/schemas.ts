import { z } from 'zod';
import { isoTime, issueKey, key, maybeTime, timestamp } from '../http/schemas.js';

export const anomalySchema = z
  .object({
    datastore_id: z.union([z.string().max(200), z.number().int()]).transform(String).nullish(),
    type: z.string().min(1).max(100),
    status: z.string().min(1).max(50),
    detected_at: timestamp.nullish(),
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
    created_at: isoTime,
    updated_at: isoTime,
  })
  .strict();

export const ticketViewAnswer = z
  .object({
    ticket_id: z.string(),
    ticket_number: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.string(),
    status_category: z.string(),
    priority: z.string().nullable(),
    category: z.string().nullable(),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    resolved_at: z.string().nullable(),
    assigned_to: z.string().nullable(),
    requester: z.string().nullable(),
    url: z.string(),
    comments_count: z.number().nullable(),
    metadata: z.object({ project_key: z.string().nullable(), issue_type: z.string().nullable() }).strict(),
  })
  .strict();

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
    created_at: isoTime,
  })
  .strict();

export const createdAnswer = z.object({ ticket: ticketViewAnswer, anomaly_id: givenId, integration_id: z.string(), message: z.string() }).strict();
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
export const formAnswer = z.object({ integration_id: z.string(), project_key: z.string(), issue_type: z.string(), fields: z.array(formField) }).strict();
