import { z } from 'zod';
import { normaliseBaseUrl } from '../jira/client.js';
import { compileTemplate, TemplateError } from '../templates/template.js';

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

export const AUTH_METHODS = ['api_token', 'scoped_api_token', 'oauth2', 'pat', 'basic'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const secretPatchSchema = z
  .object({
    /**
     * api_token: Jira Cloud, Basic email:token at the site. scoped_api_token: Cloud, Basic through
     * api.atlassian.com/ex/jira/{cloudId}. oauth2: Cloud, 3LO (POST /api/v1/oauth/jira/initiate).
     * pat / basic: Server or Data Center, REST v2, personal access token (Bearer) or user:password.
     */
    auth_method: z.enum(AUTH_METHODS),
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
    /**
     * fixed_days: that many days after approval; policy_deadline: the request's policy-derived due date (the
     * default, also when the field was never set); null: no due date.
     */
    due_date_config: z
      .union([
        z.object({ type: z.literal('fixed_days'), days: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(45), z.literal(60)]) }).strict(),
        z.object({ type: z.literal('policy_deadline') }).strict(),
      ])
      .nullable(),
    priority: z.string().min(1).max(255).nullable(),
    labels: z.array(template).max(20).nullable(),
    assignee_account_id: z.string().min(1).max(128).nullable(),
    /** Signs Jira's admin webhooks (X-Hub-Signature) sent to /webhooks/jira/{connection_key}. */
    webhook_secret: z.string().min(16, 'must be at least 16 characters').max(500),
    /**
     * This connection's request budget, shared by every worker and API process (default JIRA_RATE_LIMIT_PER_SECOND).
     * At least 1: the API's Jira-backed routes wait in the same queue, and a tiny budget (5e-324 makes the
     * spacing Infinity) would hold them, and every later call of the connection, for minutes or forever.
     */
    rate_limit_per_second: z.number().min(1, 'must be at least 1 (call per second)').max(1000).nullable(),
    /** Anomaly links: when an anomaly becomes active again while its ticket is done, move the ticket back to "to do". */
    reopen_on_recurrence: z.boolean(),
    /**
     * After a request's personal data is erased, also rewrite the summary, description and custom fields of the
     * ticket ticketflow rendered them into (the templates rendered with the erased values). Off by default:
     * it edits tickets in Jira.
     */
    redact_personal_data_in_jira: z.boolean(),
    custom_fields: z
      .record(z.string().regex(/^(customfield_\d+|[a-z][a-zA-Z]*)$/, 'must be a Jira field id such as customfield_10010'), z.union([template, z.array(template).max(20)]))
      .refine((f) => Object.keys(f).length <= 50, 'at most 50 fields')
      .nullable(),
  })
  .partial()
  .strict();

export type SecretPatch = z.infer<typeof secretPatchSchema>;
export type DueDateConfig = NonNullable<SecretPatch['due_date_config']>;

export interface TicketSettings {
  authMethod: AuthMethod;
  /** The site's root URL, e.g. https://acme.atlassian.net */
  siteUrl: string;
  username?: string;
  /** API token, personal access token or password, by auth method */
  apiKey?: string;
  /** Cloud id: scoped tokens and OAuth reach the site through api.atlassian.com/ex/jira/{cloudId} */
  cloudId?: string;
  projectKey: string;
  issueType: string;
  summaryTemplate: string;
  descriptionTemplate: string | null;
  /** undefined or policy_deadline: use the request's policy-derived due date; null: no due date. */
  dueDateConfig: DueDateConfig | null | undefined;
  priority?: string | null;
  labels?: string[] | null;
  assigneeAccountId?: string | null;
  /** Jira field id → template or list of templates */
  customFields?: Record<string, string | string[]> | null;
  /** undefined: the process default */
  rateLimitPerSecond?: number | null;
  /** erasure also redacts the rendered ticket in Jira */
  redactPersonalDataInJira?: boolean;
}

export const DEFAULT_SUMMARY_TEMPLATE = 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__';

const REQUIRED: Record<AuthMethod, string[]> = {
  api_token: ['domain', 'username', 'api_key'],
  scoped_api_token: ['domain', 'username', 'api_key', 'cloud_id'],
  oauth2: ['access_token', 'cloud_id'],
  pat: ['domain', 'api_key'],
  basic: ['domain', 'username', 'api_key'],
};

/**
 * The settings needed to create tickets (with `discovery`: to read Jira's projects and issue types, before a
 * project is chosen), or what is still missing. Besides what PUT …/secret accepts, the
 * stored settings hold what ticketflow resolved itself: `cloud_id`, `site_url` and the OAuth tokens.
 */
export function ticketSettings(all: Record<string, unknown>, opts: { discovery?: boolean } = {}): TicketSettings | { missing: string[] } {
  const s = all as SecretPatch & { cloud_id?: string; site_url?: string; access_token?: string };
  const authMethod = s.auth_method ?? 'api_token';
  // Discovery (the projects and issue types to choose from) needs the credentials only.
  const missing = [...REQUIRED[authMethod], ...(opts.discovery ? [] : ['project_key', 'issue_type'])].filter((k) => !(all as Record<string, unknown>)[k]);
  if (missing.length) {
    return { missing: missing.map((m) => (m === 'access_token' ? 'OAuth authorization (POST /api/v1/oauth/jira/initiate)' : m === 'cloud_id' && authMethod === 'oauth2' ? 'cloud_id (set by the OAuth callback)' : m)) };
  }
  return {
    authMethod,
    siteUrl: normaliseBaseUrl(s.domain ?? s.site_url!),
    username: s.username,
    apiKey: s.api_key,
    cloudId: s.cloud_id,
    projectKey: s.project_key ?? '',
    issueType: s.issue_type ?? '',
    summaryTemplate: s.summary_template ?? DEFAULT_SUMMARY_TEMPLATE,
    descriptionTemplate: s.description_template ?? null,
    dueDateConfig: 'due_date_config' in s ? (s.due_date_config ?? null) : undefined,
    priority: s.priority,
    labels: s.labels,
    assigneeAccountId: s.assignee_account_id,
    customFields: s.custom_fields,
    rateLimitPerSecond: s.rate_limit_per_second,
    redactPersonalDataInJira: s.redact_personal_data_in_jira === true,
  };
}
