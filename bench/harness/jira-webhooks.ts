import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Stack } from './stack.js';

/**
 * Jira webhook deliveries as the benchmark sends them itself: Jira Cloud's `jira:issue_updated` shape for a
 * status change, signed like an admin webhook with a secret (`X-Hub-Signature`), to POST /webhooks/jira/<connection>.
 */

/** The fake's statuses as Jira sends them in a webhook (see src/fake-jira/store.ts). */
export const STATUS = {
  'To Do': { id: '10000', name: 'To Do', statusCategory: { id: 2, key: 'new', name: 'To Do' } },
  'In Progress': { id: '3', name: 'In Progress', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
} as const;
export type StatusName = keyof typeof STATUS;

/** Gives the connection a webhook secret (through the API, as an operator would) and returns it. */
export async function enableWebhooks(stack: Stack): Promise<string> {
  const secret = `bench-webhook-${randomBytes(12).toString('hex')}`;
  await stack.api.ok('PUT', `/api/v1/connection/${stack.connectionKey}/secret`, { webhook_secret: secret });
  return secret;
}

/** Delivers "the issue moved from → to" as Jira would, signed with the connection's secret. */
export function deliverStatusChange(
  stack: Stack,
  secret: string,
  issue: { id: string; key: string; self: string; fields: { updated: string } },
  from: StatusName,
  to: StatusName,
  apiIndex = 0,
) {
  const body = JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    issue: { id: issue.id, key: issue.key, self: issue.self, fields: { status: STATUS[to], updated: issue.fields.updated } },
    changelog: { items: [{ field: 'status', fromString: from, toString: to }] },
  });
  return stack.apis[apiIndex]!.http.request('POST', `/webhooks/jira/${stack.connectionKey}`, {
    body,
    headers: {
      'x-hub-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      'x-atlassian-webhook-identifier': randomUUID(),
    },
  });
}
