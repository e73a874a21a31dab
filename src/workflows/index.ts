export { privacyRequestTicket } from './privacy-request-ticket.js';
export { anomalyTicketCreate, anomalyTicketLink } from './anomaly-ticket.js';
export { jiraWebhookKeepAlive } from './jira-webhooks.js';
export { jiraTracker } from '../tracker/workflow.js';
