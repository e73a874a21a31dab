import type { PrivacyRequest } from '../db/entities.js';
import type { TicketSettings } from '../connections/settings.js';
import { compileTemplate, formatDate, type TemplateValues } from './template.js';

export interface RenderedTicket {
  summary: string;
  description: string | undefined;
  /** YYYY-MM-DD, as Jira's duedate field wants it */
  dueDate: string | null;
}

type RequestFacts = Pick<
  PrivacyRequest,
  'id' | 'requestType' | 'submittedAt' | 'approvedAt' | 'dueDate' | 'policyName' | 'email' | 'phone' | 'requestUrl'
>;

export function templateValues(r: RequestFacts): TemplateValues {
  return {
    REQUEST_ID: r.id,
    REQUEST_TYPE: r.requestType,
    SUBMISSION_DATE: formatDate(r.submittedAt),
    APPROVAL_DATE: formatDate(r.approvedAt),
    DUE_DATE: formatDate(r.dueDate),
    POLICY_NAME: r.policyName ?? '',
    EMAIL: r.email ?? '',
    PHONE: r.phone ?? '',
    REQUEST_URL: r.requestUrl ?? '',
  };
}

export function dueDateFor(settings: Pick<TicketSettings, 'dueDateConfig'>, r: Pick<RequestFacts, 'approvedAt' | 'dueDate'>): string | null {
  const cfg = settings.dueDateConfig;
  if (cfg === null) return null;
  if (cfg === undefined) return r.dueDate ? r.dueDate.toISOString().slice(0, 10) : null;
  const base = r.approvedAt ?? new Date();
  return new Date(base.getTime() + cfg.days * 86_400_000).toISOString().slice(0, 10);
}

/** Jira rejects summaries over 255 characters and with line breaks. */
const summaryOf = (s: string) => {
  const flat = s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > 255 ? `${flat.slice(0, 252)}...` : flat;
};

export function renderTicket(settings: TicketSettings, r: RequestFacts): RenderedTicket {
  const values = templateValues(r);
  return {
    summary: summaryOf(compileTemplate(settings.summaryTemplate)(values)) || `Privacy request ${r.id}`,
    description: settings.descriptionTemplate ? compileTemplate(settings.descriptionTemplate)(values) : undefined,
    dueDate: dueDateFor(settings, r),
  };
}
