import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { PersonalDataActivities } from './activities.js';
import type { AuditActivities } from '../audit/activities.js';
import { dbRetry } from '../platform/temporal/workflow-support.js';
import type { RetentionInput, RetentionResult } from './messages.js';

const db = { startToCloseTimeout: '5 minutes', retry: dbRetry } as const;
const { sealLegacyPersonalData } = proxyActivities<PersonalDataActivities>({ ...db, summary: 'Seal personal data still in plain text; re-seal boxes of a retired key' });
const { erasePersonalDataDue } = proxyActivities<PersonalDataActivities>({ ...db, summary: 'Erase the personal data of requests whose retention ran out' });
const { startJiraRedactions } = proxyActivities<PersonalDataActivities>({ ...db, summary: 'Start the Jira redactions the erasures asked for' });
const { purgeAuditLog } = proxyActivities<AuditActivities>({ ...db, summary: 'Delete audit entries past their retention' });

/** Requests erased per run at most (200 a batch): a backlog is worked off over the next runs. */
const MAX_BATCHES = 50;

/**
 * One run of the retention schedule (`ticketflow-retention`): erases the personal data of every privacy request
 * whose manual tasks completed, or which was canceled or denied, more than the retention period before the
 * run's scheduled time; starts the Jira redactions that asks for; deletes audit entries past theirs. Its
 * result and current details say what it erased, in counts and ids.
 */
export async function retentionSweep(input: RetentionInput): Promise<RetentionResult> {
  // The workflow's clock is the schedule's: the time-skipping tests move it by days.
  const asOf = new Date(Date.now());
  const cutoff = new Date(asOf.getTime() - input.personalDataRetentionDays * 86_400_000);
  setCurrentDetails(`erasing personal data of requests done before ${cutoff.toISOString()}`);
  const { sealed, resealed } = await sealLegacyPersonalData();
  const result: RetentionResult = {
    asOf: asOf.toISOString(),
    cutoff: cutoff.toISOString(),
    requestsErased: 0,
    requestIds: [],
    identitiesErased: 0,
    submittedDataErased: 0,
    ticketsWithPersonalFields: 0,
    redactionsStarted: 0,
    auditEntriesDeleted: 0,
    legacyRowsSealed: sealed,
    rowsResealed: resealed,
  };
  const redactions: string[] = [];
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const erased = await erasePersonalDataDue({ asOf: asOf.toISOString(), retentionDays: input.personalDataRetentionDays });
    result.requestsErased += erased.requestIds.length;
    result.requestIds.push(...erased.requestIds.slice(0, Math.max(0, 100 - result.requestIds.length)));
    result.identitiesErased += erased.identities;
    result.submittedDataErased += erased.submittedData;
    result.ticketsWithPersonalFields += erased.ticketsWithPersonalFields;
    redactions.push(...erased.redactionsPending);
    if (!erased.more) break;
  }
  result.redactionsStarted = (await startJiraRedactions({ privacyRequestIds: redactions })).started;
  result.auditEntriesDeleted = (await purgeAuditLog({ retentionDays: input.auditLogRetentionDays })).deleted;
  setCurrentDetails(describe(result));
  return result;
}

function describe(r: RetentionResult): string {
  const requests = r.requestsErased ? `${r.requestsErased} request(s) (${r.requestIds.slice(0, 10).join(', ')}${r.requestsErased > 10 ? ', …' : ''})` : 'no request';
  return [
    `erased the personal data of ${requests} done before ${r.cutoff}: ${r.identitiesErased} identities, ${r.submittedDataErased} submitted data`,
    `${r.ticketsWithPersonalFields} ticket(s) rendered from personal variables; ${r.redactionsStarted} Jira redaction(s) started`,
    `${r.auditEntriesDeleted} audit entries past retention deleted`,
    ...(r.legacyRowsSealed || r.rowsResealed ? [`${r.legacyRowsSealed} plain-text row(s) sealed, ${r.rowsResealed} re-sealed with the active key`] : []),
  ].join('; ');
}
