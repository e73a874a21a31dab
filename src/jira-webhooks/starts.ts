import type { Client } from '@temporalio/client';
import { jiraWebhooksWorkflowId } from './messages.js';
import type { jiraWebhookKeepAlive } from './keep-alive.js';

/** Starts the keep-alive of an OAuth connection's dynamic webhooks, unless it runs (authorizing again is harmless). */
export async function startWebhookKeepAlive(temporal: Client, taskQueue: string, connectionKey: string): Promise<void> {
  await temporal.workflow.start<typeof jiraWebhookKeepAlive>('jiraWebhookKeepAlive', {
    workflowId: jiraWebhooksWorkflowId(connectionKey),
    taskQueue,
    args: [{ connectionKey }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Keeps the Jira webhooks of connection ${connectionKey} alive`,
  });
}
