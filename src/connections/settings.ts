import { z } from 'zod';
import { JiraClient, normaliseBaseUrl } from '../jira/client.js';
import { compileTemplate, TemplateError } from '../tickets/template.js';

/**
 * What `PUT /connection/{key}/secret` accepts. Each PUT merges into what is stored, so credentials and the
 * ticket configuration can be sent separately (as the reference product's setup does).
 */
const template = z.string().max(10_000).superRefine((value, ctx) => {
  try {
    compileTemplate(value);
  } catch (err) {
    if (err instanceof TemplateError) ctx.addIssue({ code: 'custom', message: err.message });
    else throw err;
  }
});

export const secretPatchSchema = z
  .object({
    domain: z.string().min(1).max(500).refine((v) => {
      try {
        normaliseBaseUrl(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be a host name such as acme.atlassian.net or a full https URL'),
    username: z.string().min(1).max(500),
    api_key: z.string().min(1).max(2000),
    project_key: z.string().regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'must be a Jira project key such as PRIV'),
    issue_type: z.string().min(1).max(255),
    summary_template: template,
    description_template: template.nullable(),
    due_date_config: z
      .object({ type: z.literal('fixed_days'), days: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(45), z.literal(60)]) })
      .strict()
      .nullable(),
    priority: z.string().min(1).max(255).nullable(),
    labels: z.array(template).max(20).nullable(),
    assignee_account_id: z.string().min(1).max(128).nullable(),
    custom_fields: z
      .record(z.string().regex(/^(customfield_\d+|[a-z][a-zA-Z]*)$/, 'must be a Jira field id such as customfield_10010'), z.union([template, z.array(template).max(20)]))
      .refine((f) => Object.keys(f).length <= 50, 'at most 50 fields')
      .nullable(),
  })
  .partial()
  .strict();

export type SecretPatch = z.infer<typeof secretPatchSchema>;

export interface TicketSettings {
  site: { baseUrl: string; username: string; apiToken: string };
  projectKey: string;
  issueType: string;
  summaryTemplate: string;
  descriptionTemplate: string | null;
  /** undefined: use the request's policy-derived due date; null: no due date. */
  dueDateConfig: { type: 'fixed_days'; days: number } | null | undefined;
  priority?: string | null;
  labels?: string[] | null;
  assigneeAccountId?: string | null;
  /** Jira field id → template or list of templates */
  customFields?: Record<string, string | string[]> | null;
}

export const DEFAULT_SUMMARY_TEMPLATE = 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__';

/** The settings needed to create tickets, or the list of secret fields still missing. */
export function ticketSettings(secrets: Record<string, unknown>): TicketSettings | { missing: string[] } {
  const s = secrets as SecretPatch;
  const missing = (['domain', 'username', 'api_key', 'project_key', 'issue_type'] as const).filter((k) => !s[k]);
  if (missing.length) return { missing };
  return {
    site: { baseUrl: normaliseBaseUrl(s.domain!), username: s.username!, apiToken: s.api_key! },
    projectKey: s.project_key!,
    issueType: s.issue_type!,
    summaryTemplate: s.summary_template ?? DEFAULT_SUMMARY_TEMPLATE,
    descriptionTemplate: s.description_template ?? null,
    dueDateConfig: 'due_date_config' in s ? (s.due_date_config ?? null) : undefined,
    priority: s.priority,
    labels: s.labels,
    assigneeAccountId: s.assignee_account_id,
    customFields: s.custom_fields,
  };
}

export function jiraClientFor(settings: TicketSettings, timeoutMs: number): JiraClient {
  return new JiraClient(settings.site, timeoutMs);
}
