import { setWorkflowOptions } from '@temporalio/workflow';
import { privacyRequestTicket } from './privacy-requests/workflow.js';
import { anomalyTicketCreate, anomalyTicketLink } from './anomalies/workflows.js';
import { jiraWebhookKeepAlive } from './jira-webhooks/keep-alive.js';
import { jiraTracker } from './tracker/workflow.js';

/*
 * Worker versioning (docs/operators.md, "Rolling out a new version"): how each workflow type moves between
 * worker deployment versions. The worker's default is AUTO_UPGRADE; it is said here for every type anyway, so
 * that a new workflow type is a choice made next to the others.
 *
 * AUTO_UPGRADE: the workflows that live for weeks to forever (a ticket until its data arrives, a link until
 * it is unlinked, a connection's tracker and webhook keep-alive) move to the current version at their next
 * task. Pinned, they would keep every old version's workers running for months. The price: a change to them
 * must replay their existing histories (patched(), test/replay.test.ts), as before versioning.
 *
 * PINNED: a "create a ticket for this anomaly" run lasts one activity (three attempts at most, minutes), so
 * it finishes on the version it started on and a change to it needs no patch; the old version drains in minutes.
 */
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, privacyRequestTicket);
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, anomalyTicketLink);
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, jiraWebhookKeepAlive);
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, jiraTracker);
setWorkflowOptions({ versioningBehavior: 'PINNED' }, anomalyTicketCreate);

export { privacyRequestTicket, anomalyTicketCreate, anomalyTicketLink, jiraWebhookKeepAlive, jiraTracker };
