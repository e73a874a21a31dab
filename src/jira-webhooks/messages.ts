import { defineSignal } from '@temporalio/workflow';

/** Messages of the dynamic-webhook keep-alive of OAuth connections (`jira-webhooks/<connection>`). */

export const stopWebhooksSignal = defineSignal('stopWebhooks');
export const jiraWebhooksWorkflowId = (connectionKey: string) => `jira-webhooks/${connectionKey}`;
