import type { Client } from '@temporalio/client';
import { jiraWebhooksWorkflowId, refreshWebhooksSignal, stopWebhooksSignal } from './messages.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
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

/** Starts the keep-alive, or wakes the running one to look at the webhooks now (a changed scope, new credentials). */
export async function refreshWebhookKeepAlive(temporal: Client, taskQueue: string, connectionKey: string): Promise<void> {
  if (!(await signalIfRunning(temporal, jiraWebhooksWorkflowId(connectionKey), refreshWebhooksSignal))) await startWebhookKeepAlive(temporal, taskQueue, connectionKey);
}

/** Ends the keep-alive (the connection is disconnected: its webhooks are removed by the API). */
export async function stopWebhookKeepAlive(temporal: Client, connectionKey: string): Promise<void> {
  await signalIfRunning(temporal, jiraWebhooksWorkflowId(connectionKey), stopWebhooksSignal);
}
