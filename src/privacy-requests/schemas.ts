import { z } from 'zod';
import { id, isoTime, issueKey, key, maybeTime, timestamp } from '../http/schemas.js';

/** The request statuses of the reference product; `approved` starts the tickets, `canceled` and `denied` close them. */
export const REQUEST_STATUSES = [
  'pending', 'identity_unverified', 'requires_manual_identity_verification', 'approved', 'in_processing', 'paused',
  'pending_external', 'requires_input', 'awaiting_email_send', 'complete', 'error', 'canceled', 'denied',
] as const;

export const privacyRequestSchema = z
  .object({
    id,
    request_type: z.enum(['access', 'erasure', 'consent', 'update']),
    status: z.enum(REQUEST_STATUSES),
    submitted_at: timestamp.nullish(),
    approved_at: timestamp.nullish(),
    due_date: timestamp.nullish(),
    policy_name: z.string().max(500).nullish(),
    identity: z
      .object({ email: z.email().max(320).nullish(), phone: z.string().regex(/^\+?[0-9 ().-]{3,40}$/, 'must be a phone number').nullish() })
      .strict()
      .nullish(),
    request_url: z.url({ protocol: /^https?$/ }).max(2000).nullish(),
  })
  .strict();

export const statusPatchSchema = z.object({ status: z.enum(REQUEST_STATUSES) }).strict();
export const submitDataSchema = z.object({ data: z.record(z.string(), z.unknown()) }).strict();
export const linkSchema = z.object({ ticket_key: issueKey, connection_key: key.optional() }).strict();

// ---- Answers ----

export const TASK_STATES = ['creating', 'creation_failed', 'open', 'waiting_for_data', 'completed', 'failed', 'canceled'] as const;

/** One ticket instance (a request's ticket on one connection), as `GET …/jira-tickets` lists it. */
export const instanceAnswer = z
  .object({
    instance_id: z.string(),
    connection_key: z.string(),
    workflow_id: z.string(),
    ticket_id: z.string().nullable(),
    ticket_key: z.string().nullable(),
    ticket_url: z.string().nullable(),
    status: z.string().nullable(),
    status_category: z.enum(['new', 'indeterminate', 'done', 'deleted']).nullable(),
    /** Jira's resolution (e.g. "Done", "Won't Do"): a status mapping (done_status_ids) can leave some out of "done" */
    resolution: z.string().nullable(),
    task_state: z.enum(TASK_STATES),
    data_submitted: z.boolean(),
    last_error: z.string().nullable(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .strict();

/** The answer of link, refresh and retry: the instance as the workflow left it, and what was done. */
export const actionAnswer = instanceAnswer.extend({ message: z.string() }).strict();

/** A privacy request without its identity (emails and phones are never answered), with its tickets. */
export const requestAnswer = z
  .object({
    id: z.string(),
    request_type: z.string(),
    status: z.enum(REQUEST_STATUSES),
    submitted_at: maybeTime,
    approved_at: maybeTime,
    due_date: maybeTime,
    policy_name: z.string().nullable(),
    request_url: z.string().nullable(),
    manual_tasks_completed_at: maybeTime,
    /** when the request's identity and submitted data were erased (retention or on demand); null: not erased */
    personal_data_erased_at: maybeTime,
    jira_tickets: z.array(instanceAnswer),
  })
  .strict();

export const submitAnswer = z.object({ instance_id: z.string(), data_submitted: z.literal(true) }).strict();
