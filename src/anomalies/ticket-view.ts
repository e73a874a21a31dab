import { adfToText } from '../jira/adf.js';
import { categoryOf } from '../jira/status.js';
import type { JiraClient, RawIssue } from '../jira/client.js';
import type { TicketView } from './messages.js';
import type { TicketAnswer } from './schemas.js';
import { answerTime } from './format.js';

/** A Jira issue in the shape of the reference product's ticket objects, its times as Jira writes them. */
export function ticketView(client: JiraClient, issue: RawIssue): TicketView {
  const f = issue.fields ?? {};
  return {
    ticket_id: issue.id,
    ticket_number: issue.key,
    title: f.summary ?? '',
    description: f.description === undefined || f.description === null ? null : typeof f.description === 'string' ? f.description : adfToText(f.description),
    status: f.status?.name ?? 'Unknown',
    status_category: categoryOf(f.status?.statusCategory?.key),
    priority: f.priority?.name ?? null,
    // Jira has no urgency or impact of its own; Service Management keeps them in custom fields whose ids differ
    // per site, which a connection does not name.
    urgency: null,
    impact: null,
    category: f.issuetype?.name ?? null,
    // Jira's issue types have no subtypes.
    subcategory: null,
    created_at: f.created ?? null,
    updated_at: f.updated ?? null,
    resolved_at: f.resolutiondate ?? null,
    // Jira keeps no closing time apart from the resolution date (set when the issue is resolved, cleared when it
    // is reopened), so both read it.
    closed_at: f.resolutiondate ?? null,
    assigned_to: f.assignee?.displayName ?? f.assignee?.accountId ?? null,
    // Jira assigns issues to one user, never to a group.
    assigned_group: null,
    requester: f.reporter?.displayName ?? null,
    url: client.browseUrl(issue.key),
    comments_count: f.comment?.total ?? null,
    metadata: { project_key: f.project?.key ?? null, issue_type: f.issuetype?.name ?? null },
  };
}

/**
 * The ticket as the anomaly endpoints answer it, with times in the reference product's format. Creations that an
 * earlier version finished returned no urgency, impact, subcategory, closed_at or assigned_group: the same nulls
 * stand in, and closed_at is read from their resolution date, as ticketView does.
 */
export function ticketAnswer(t: TicketView): TicketAnswer {
  return {
    ticket_id: t.ticket_id,
    ticket_number: t.ticket_number,
    title: t.title,
    description: t.description,
    status: t.status,
    status_category: t.status_category,
    priority: t.priority,
    urgency: t.urgency ?? null,
    impact: t.impact ?? null,
    category: t.category,
    subcategory: t.subcategory ?? null,
    created_at: answerTime(t.created_at),
    updated_at: answerTime(t.updated_at),
    resolved_at: answerTime(t.resolved_at),
    closed_at: answerTime(t.closed_at === undefined ? t.resolved_at : t.closed_at),
    assigned_to: t.assigned_to,
    assigned_group: t.assigned_group ?? null,
    requester: t.requester,
    url: t.url,
    comments_count: t.comments_count,
    metadata: t.metadata,
  };
}
