export { privacyRequestTicket } from './privacy-requests/workflow.js';
export { anomalyTicketCreate, anomalyTicketLink } from './anomalies/workflows.js';
export { jiraWebhookKeepAlive } from './jira-webhooks/keep-alive.js';
export { jiraTracker } from './tracker/workflow.js';
export { retentionSweep } from './personal-data/retention.js';
export { jiraRedaction } from './personal-data/redaction.js';
