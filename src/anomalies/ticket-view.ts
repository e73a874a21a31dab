import { adfToText } from '../jira/adf.js';
import { categoryOf } from '../jira/status.js';
import type { JiraClient, RawIssue } from '../jira/client.js';
import type { TicketView } from './messages.js';

/** A Jira issue in the shape of the reference product's ticket objects. */
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
    category: f.issuetype?.name ?? null,
    created_at: f.created ?? null,
    updated_at: f.updated ?? null,
    resolved_at: f.resolutiondate ?? null,
    assigned_to: f.assignee?.displayName ?? f.assignee?.accountId ?? null,
    requester: f.reporter?.displayName ?? null,
    url: client.browseUrl(issue.key),
    comments_count: f.comment?.total ?? null,
    metadata: { project_key: f.project?.key ?? null, issue_type: f.issuetype?.name ?? null },
  };
}
