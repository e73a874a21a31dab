import type { TicketSettings } from '../connections/settings.js';
import type { CreateIssueInput } from '../jira/client.js';
import { compileTemplate, dependsOnPersonalData, formatDate, type TemplateValues } from './template.js';

export interface RenderedTicket {
  summary: string;
  description: string | undefined;
  /** YYYY-MM-DD, as Jira's duedate field wants it */
  dueDate: string | null;
  labels: string[];
  /** Rendered custom fields by Jira field id */
  fields: Record<string, string | string[]>;
}

/** What a ticket is rendered from: the request's facts, with its identity opened (see personal-data/sealing.ts). */
export interface RequestFacts {
  id: string;
  requestType: string;
  submittedAt?: Date | null;
  approvedAt?: Date | null;
  dueDate?: Date | null;
  policyName?: string | null;
  email: string | null;
  phone: string | null;
  requestUrl?: string | null;
}

/** What the request does not have (a missing phone, a null email) is undefined, as in Jinja: `default` fires on it. */
export function templateValues(r: RequestFacts): TemplateValues {
  const date = (d: Date | null | undefined) => (d ? formatDate(d) : undefined);
  return {
    REQUEST_ID: r.id,
    REQUEST_TYPE: r.requestType,
    SUBMISSION_DATE: date(r.submittedAt),
    APPROVAL_DATE: date(r.approvedAt),
    DUE_DATE: date(r.dueDate),
    POLICY_NAME: r.policyName ?? undefined,
    EMAIL: r.email ?? undefined,
    PHONE: r.phone ?? undefined,
    REQUEST_URL: r.requestUrl ?? undefined,
  };
}

export function dueDateFor(settings: Pick<TicketSettings, 'dueDateConfig'>, r: Pick<RequestFacts, 'approvedAt' | 'dueDate'>): string | null {
  const cfg = settings.dueDateConfig;
  if (cfg === null) return null;
  if (cfg === undefined || cfg.type === 'policy_deadline') return r.dueDate ? r.dueDate.toISOString().slice(0, 10) : null;
  const base = r.approvedAt ?? new Date();
  return new Date(base.getTime() + cfg.days * 86_400_000).toISOString().slice(0, 10);
}

/** Jira rejects summaries over 255 characters and with line breaks. */
const summaryOf = (s: string) => {
  const flat = s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > 255 ? `${flat.slice(0, 252)}...` : flat;
};

/** Jira labels are single words: runs of white space become underscores, empty ones are dropped. */
const asLabel = (s: string) => s.trim().replace(/\s+/g, '_').slice(0, 255);

export function renderTicket(settings: Pick<TicketSettings, 'summaryTemplate' | 'descriptionTemplate' | 'dueDateConfig' | 'labels' | 'customFields'>, r: RequestFacts): RenderedTicket {
  const values = templateValues(r);
  const render = (t: string) => compileTemplate(t)(values);
  const fields: Record<string, string | string[]> = {};
  const labels = (settings.labels ?? []).map(render);
  for (const [id, t] of Object.entries(settings.customFields ?? {})) {
    if (id === 'labels') labels.push(...[t].flat().map(render));
    else fields[id] = Array.isArray(t) ? t.map(render) : render(t);
  }
  return {
    summary: summaryOf(render(settings.summaryTemplate)) || `Privacy request ${r.id}`,
    description: settings.descriptionTemplate ? render(settings.descriptionTemplate) : undefined,
    dueDate: dueDateFor(settings, r),
    labels: [...new Set(labels.map(asLabel).filter(Boolean))],
    fields,
  };
}

/**
 * The ticket fields whose templates render personal variables (`summary`, `description`, `labels`, custom
 * field ids): where a ticket carries the data subject's email or phone, and so what erasure names and
 * redaction rewrites. Empty when the request has no identity to render.
 */
export function personalFieldsOf(settings: Pick<TicketSettings, 'summaryTemplate' | 'descriptionTemplate' | 'labels' | 'customFields'>, r?: Pick<RequestFacts, 'email' | 'phone'>): string[] {
  if (r && !r.email && !r.phone) return [];
  const uses = (t: string | string[] | null | undefined) => [t ?? []].flat().some(dependsOnPersonalData);
  const fields: string[] = [];
  if (uses(settings.summaryTemplate)) fields.push('summary');
  if (uses(settings.descriptionTemplate)) fields.push('description');
  const custom = Object.entries(settings.customFields ?? {});
  if (uses(settings.labels) || custom.some(([id, t]) => id === 'labels' && uses(t))) fields.push('labels');
  for (const [id, t] of custom) if (id !== 'labels' && uses(t)) fields.push(id);
  return fields;
}

/** Everything Jira needs to create the ticket; `label` is the instance's idempotency label, if any. */
export function issueInputFor(settings: TicketSettings, r: RequestFacts, opts: { label: string; summaryPrefix?: string }): CreateIssueInput {
  const t = renderTicket(settings, r);
  return {
    projectKey: settings.projectKey,
    issueType: settings.issueType,
    summary: summaryOf(`${opts.summaryPrefix ?? ''}${t.summary}`),
    description: t.description,
    dueDate: t.dueDate ?? undefined,
    labels: [opts.label, ...t.labels.filter((l) => l !== opts.label)],
    priority: settings.priority ?? undefined,
    assigneeAccountId: settings.assigneeAccountId ?? undefined,
    extraFields: t.fields,
    fieldMeta: settings.fieldMeta,
  };
}

/** The request that previews and test tickets are rendered with; its values match TEMPLATE_VARIABLES' examples. */
export const SAMPLE_REQUEST: RequestFacts = {
  id: 'pri_abc123-def456',
  requestType: 'erasure',
  submittedAt: new Date('2025-01-15T10:30:00Z'),
  approvedAt: new Date('2025-01-16T14:00:00Z'),
  dueDate: new Date('2025-02-14T14:00:00Z'),
  policyName: 'Default Erasure Policy',
  email: 'user@example.com',
  phone: '+1-555-0100',
  requestUrl: 'https://privacy.example.com/privacy-requests/pri_abc123-def456',
};
