import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { normaliseBaseUrl, type FieldMeta } from '../jira/client.js';

export type { FieldMeta } from '../jira/client.js';
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

export const AUTH_METHODS = ['api_token', 'scoped_api_token', 'oauth2', 'pat', 'basic', 'dc_oauth2', 'oauth1'] as const;
/** The auth methods that reach Jira Server / Data Center (REST v2, wiki markup); the others are Jira Cloud. */
export const DATA_CENTER_METHODS: readonly AuthMethod[] = ['pat', 'basic', 'dc_oauth2', 'oauth1'];
/** The auth methods whose tokens come from a browser authorization (POST /api/v1/oauth/jira/initiate). */
export const AUTHORIZED_METHODS: readonly AuthMethod[] = ['oauth2', 'dc_oauth2', 'oauth1'];
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const secretPatchSchema = z
  .object({
    /**
     * api_token: Jira Cloud, Basic email:token at the site. scoped_api_token: Cloud, Basic through
     * api.atlassian.com/ex/jira/{cloudId}. oauth2: Cloud, 3LO (POST /api/v1/oauth/jira/initiate).
     * pat / basic: Server or Data Center, REST v2, personal access token (Bearer) or user:password.
     * dc_oauth2: Data Center, OAuth 2.0 through an incoming application link (oauth_client_id, oauth_client_secret).
     * oauth1: Server or Data Center, OAuth 1.0a (RSA-SHA1) through an application link (oauth1_consumer_key and a key pair).
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
    /** dc_oauth2: the incoming application link's client id and secret (Jira → Applications → Application links). */
    oauth_client_id: z.string().min(1).max(500),
    oauth_client_secret: z.string().min(1).max(2000),
    /**
     * dc_oauth2 and oauth1: where Jira sends the browser back; default JIRA_OAUTH_REDIRECT_URI, else
     * WEBHOOK_BASE_URL + /api/v1/oauth/jira/callback. It must be the redirect URL of the application link.
     */
    redirect_uri: z.url({ protocol: /^https?$/ }).max(2000),
    /** oauth1: the consumer key given to the application link's incoming authentication. */
    oauth1_consumer_key: z.string().min(1).max(200),
    /** oauth1: your own RSA private key (PEM, PKCS#1 or PKCS#8); or `oauth1_generate_key` for one made here. */
    oauth1_private_key: z
      .string()
      .min(1)
      .max(20_000)
      .refine((pem) => isRsaPrivateKey(pem), 'must be an RSA private key in PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)'),
    /** oauth1: true makes a 2048-bit RSA key pair here; its public key is shown (oauth1_public_key) to paste into Jira. */
    oauth1_generate_key: z.literal(true),
    /**
     * The JQL that bounds this connection: the tracker's delta reads and the webhooks it registers. Default
     * `project = "<project_key>"`. No ORDER BY (ticketflow orders its own reads).
     */
    jql_scope: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .refine((j) => !/\border\s+by\b/i.test(j), 'must not contain ORDER BY')
      .refine((j) => !/[\r\n]/.test(j), 'must be one line')
      .nullable(),
    /**
     * The Jira statuses (ids, from GET …/jira/projects/{project}/statuses) that count as done for the completion
     * table; null: every status of the `done` category (Jira's default, which includes "Won't Do").
     */
    done_status_ids: z.array(z.string().regex(/^\d{1,18}$/, 'must be a Jira status id such as 10001')).min(1).max(100).nullable(),
    /**
     * Closing the loop in Jira (opt-in): when the privacy request is canceled or denied upstream, or its manual
     * task completes, post one comment on the ticket saying so; with `status_id`, also move the ticket to that
     * status unless it is there already.
     */
    close_loop: z
      .object({ comment: z.boolean(), status_id: z.string().regex(/^\d{1,18}$/, 'must be a Jira status id such as 10001').nullable().optional() })
      .strict()
      .nullable(),
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

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** Closing the loop in Jira: a comment when the work ends elsewhere, optionally a move to a status. */
export interface CloseLoop {
  comment: boolean;
  statusId?: string | null;
}

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
  /** the JQL that bounds the tracker's reads and the webhooks */
  jqlScope: string;
  /** status ids that count as done; null: the `done` category */
  doneStatusIds: string[] | null;
  closeLoop: CloseLoop | null;
  /** custom fields' types, from the create metadata read when the settings were saved (absent: sent as text) */
  fieldMeta?: Record<string, FieldMeta>;
  /** OAuth 1.0a: the consumer, its private key and the access token, which sign every request */
  oauth1?: { consumerKey: string; privateKey: string; token: string; tokenSecret: string };
}

/** A connection's default scope: its project. */
export const defaultScope = (projectKey: string) => `project = "${projectKey}"`;

export const DEFAULT_SUMMARY_TEMPLATE = 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__';

const REQUIRED: Record<AuthMethod, string[]> = {
  api_token: ['domain', 'username', 'api_key'],
  scoped_api_token: ['domain', 'username', 'api_key', 'cloud_id'],
  oauth2: ['access_token', 'cloud_id'],
  pat: ['domain', 'api_key'],
  basic: ['domain', 'username', 'api_key'],
  dc_oauth2: ['domain', 'oauth_client_id', 'oauth_client_secret', 'access_token'],
  oauth1: ['domain', 'oauth1_consumer_key', 'oauth1_private_key', 'oauth1_access_token'],
};

/** What the API says about a missing setting that ticketflow fills itself. */
function explainMissing(m: string, authMethod: AuthMethod): string {
  if (m === 'access_token' || m === 'oauth1_access_token') return 'OAuth authorization (POST /api/v1/oauth/jira/initiate)';
  if (m === 'cloud_id' && authMethod === 'oauth2') return 'cloud_id (set by the OAuth callback)';
  if (m === 'oauth1_private_key') return 'oauth1_private_key (or "oauth1_generate_key": true)';
  return m;
}

/**
 * The settings needed to create tickets (with `discovery`: to read Jira's projects and issue types, before a
 * project is chosen), or what is still missing. Besides what PUT …/secret accepts, the
 * stored settings hold what ticketflow resolved itself: `cloud_id`, `site_url` and the OAuth tokens.
 */
export function ticketSettings(all: Record<string, unknown>, opts: { discovery?: boolean } = {}): TicketSettings | { missing: string[] } {
  const s = all as SecretPatch & { cloud_id?: string; site_url?: string; access_token?: string; field_meta?: { fields?: Record<string, FieldMeta> } };
  const authMethod = s.auth_method ?? 'api_token';
  // Discovery (the projects and issue types to choose from) needs the credentials only.
  const missing = [...REQUIRED[authMethod], ...(opts.discovery ? [] : ['project_key', 'issue_type'])].filter((k) => !(all as Record<string, unknown>)[k]);
  if (missing.length) {
    return { missing: missing.map((m) => explainMissing(m, authMethod)) };
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
    // Discovery has no project yet: its reads (projects, issue types) need no scope.
    jqlScope: s.jql_scope ?? (s.project_key ? defaultScope(s.project_key) : ''),
    doneStatusIds: s.done_status_ids ?? null,
    closeLoop: s.close_loop ? { comment: s.close_loop.comment, statusId: s.close_loop.status_id ?? null } : null,
    fieldMeta: s.field_meta?.fields,
    ...(authMethod === 'oauth1'
      ? { oauth1: { consumerKey: s.oauth1_consumer_key!, privateKey: s.oauth1_private_key!, token: String(all.oauth1_access_token), tokenSecret: String(all.oauth1_token_secret ?? '') } }
      : {}),
  };
}
