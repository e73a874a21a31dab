import { defineSignal } from '@temporalio/workflow';

/** Messages of the dynamic-webhook keep-alive of OAuth connections (`jira-webhooks/<connection>`). */

export const stopWebhooksSignal = defineSignal('stopWebhooks');
export const jiraWebhooksWorkflowId = (connectionKey: string) => `jira-webhooks/${connectionKey}`;
/** Look at the webhooks now (the connection's scope or credentials changed), instead of at the next round. */
export const refreshWebhooksSignal = defineSignal('refreshWebhooks');
