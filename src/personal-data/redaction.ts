import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { PersonalDataActivities } from './activities.js';
import { dbRetry, failureMessage, jiraRetry } from '../platform/temporal/workflow-support.js';
import type { RedactionInput, RedactionResult } from './messages.js';

const { pendingRedactions } = proxyActivities<PersonalDataActivities>({ startToCloseTimeout: '1 minute', retry: dbRetry, summary: 'The tickets whose redaction is still to do' });
// Jira may be away for hours: retried with backoff until it answers; a refusal (403, a disabled connection) ends it.
const { redactTicket } = proxyActivities<PersonalDataActivities>({ startToCloseTimeout: '2 minutes', retry: jiraRetry, summary: 'Rewrite the ticket without the personal values (once: a property marks it done)' });

/**
 * Redacts a privacy request's tickets in Jira after its personal data was erased, one ticket at a time,
 * until none is pending (an erasure while this runs adds tickets it then finds). A ticket that fails for
 * good stays pending in PostgreSQL, named in the result; the next retention run starts this again.
 */
export async function jiraRedaction({ privacyRequestId }: RedactionInput): Promise<RedactionResult> {
  const result: RedactionResult = { redacted: [], alreadyRedacted: [], ticketGone: [], failed: [] };
  const failed = new Set<string>();
  for (let round = 0; round < 10; round++) {
    const todo = (await pendingRedactions({ privacyRequestId })).instanceIds.filter((i) => !failed.has(i));
    if (!todo.length) break;
    for (const instanceId of todo) {
      setCurrentDetails(`redacting the tickets of privacy request ${privacyRequestId}: ${summary(result)}; ${todo.length} to do`);
      try {
        const { ticketKey, outcome } = await redactTicket({ instanceId });
        if (outcome === 'redacted') result.redacted.push(ticketKey!);
        else if (outcome === 'already_redacted') result.alreadyRedacted.push(ticketKey!);
        else if (outcome === 'ticket_gone') result.ticketGone.push(ticketKey!);
      } catch (err) {
        failed.add(instanceId);
        result.failed.push({ ticketKey: null, error: `${instanceId}: ${failureMessage(err)}` });
      }
    }
  }
  setCurrentDetails(`done for privacy request ${privacyRequestId}: ${summary(result)}`);
  return result;
}

function summary(r: RedactionResult): string {
  const list = (keys: string[]) => (keys.length ? ` (${keys.join(', ')})` : '');
  return `${r.redacted.length} redacted${list(r.redacted)}, ${r.alreadyRedacted.length} already redacted${list(r.alreadyRedacted)}, ${r.ticketGone.length} gone from Jira${list(r.ticketGone)}, ${r.failed.length} failed`;
}
