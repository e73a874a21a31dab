import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { JiraTicketInstance } from '../platform/db/entities.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { log } from '../platform/log.js';
import { metrics } from '../platform/metrics.js';
import { readSnapshot, toSnapshot, SNAPSHOT_FIELDS, type IssueSnapshot } from '../jira/snapshot.js';
import { newsOf } from '../tracker/watchers.js';
import { HEAL_AFTER_SECONDS, type TrackerChore } from '../tracker/chores.js';
import { idempotencyLabel } from './activities.js';
import { linkSignal, submitDataSignal } from './messages.js';

/** What the privacy-request feature has each connection's tracker do every cycle. */
export function privacyRequestChores({ orm, temporal }: { orm: Orm; temporal: Client }): TrackerChore[] {
  const db = () => orm.em.getConnection();
  return [
    {
      name: 'lost data signals',
      /** Data stored but not seen by its workflow (the submitData signal was lost): send it again. */
      async run({ connectionKey }) {
        // SQL: a join across the instance and its stored data
        const lost = await db().execute<Array<{ workflow_id: string }>>(
          `select i.workflow_id from jira_ticket_instance i join submitted_data d on d.instance_id = i.instance_id
           where i.connection_key = ? and i.data_submitted and not i.data_seen and i.task_state in ('open', 'waiting_for_data', 'failed')
             and d.submitted_at < now() - make_interval(secs => ?)`,
          [connectionKey, HEAL_AFTER_SECONDS],
        );
        let healed = 0;
        for (const { workflow_id } of lost) healed += Number(await signalIfRunning(temporal, workflow_id, submitDataSignal));
        return { healed };
      },
    },
    {
      /**
       * Creations retried after a lost reply may have made a second ticket, found only once Jira's search
       * caught up: the first one stays, the others are closed with a comment naming it, and a workflow that
       * tracks one of the others is pointed at the first. Checked every cycle for an hour after the search
       * should have caught up; one search covers up to 100 such creations.
       */
      name: 'duplicate tickets',
      async run({ connectionKey, client, tally, doneStatusIds }) {
        const due = (
          await orm.em.fork().find(
            JiraTicketInstance,
            { connectionKey, duplicateCheckAfter: { $lte: new Date() }, ticketKey: { $ne: null } },
            { orderBy: { duplicateCheckAfter: 'asc' }, limit: 100, fields: ['instanceId', 'workflowId', 'ticketKey'] },
          )
        ).map((i) => ({ instance_id: i.instanceId, workflow_id: i.workflowId, ticket_key: i.ticketKey! }));
        if (!due.length) return {};
        const labels = due.map((d) => idempotencyLabel(d.instance_id));
        const found: Array<{ key: string; id: string; labels: string[]; created: string; done: boolean; snapshot: IssueSnapshot }> = [];
        let token: string | undefined;
        do {
          const page = await client.search(`labels in (${labels.map((l) => `"${l}"`).join(', ')}) ORDER BY created ASC`, [...SNAPSHOT_FIELDS, 'labels', 'created'], 1000, token);
          tally.count(page.issues.length);
          for (const issue of page.issues) {
            const f = issue.fields ?? {};
            found.push({ key: issue.key, id: issue.id, labels: f.labels ?? [], created: f.created ?? '', done: f.status?.statusCategory?.key === 'done', snapshot: toSnapshot(issue) });
          }
          token = page.nextPageToken;
        } while (token);
        let closed = 0;
        for (const d of due) {
          const label = idempotencyLabel(d.instance_id);
          const same = found.filter((f) => f.labels.includes(label)).sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || Number(a.id) - Number(b.id));
          const [survivor, ...others] = same;
          if (survivor && others.length) {
            if (survivor.key.toUpperCase() !== d.ticket_key.toUpperCase()) {
              const seen = { ...newsOf(survivor.snapshot, doneStatusIds), ticketKey: survivor.key, id: survivor.id, url: client.browseUrl(survivor.key) };
              await signalIfRunning(temporal, d.workflow_id, linkSignal, { ticketKey: survivor.key, seen });
            }
            // A duplicate already done was closed by an earlier cycle (or by someone): left as it is. The search
            // may show it as it was, so its state is read directly first.
            for (const other of others.filter((o) => !o.done)) {
              const now = await readSnapshot(client, other.key);
              tally.count(now ? 1 : 0);
              if (!now || now.statusCategory === 'done') continue;
              await client.addComment(other.key, `Duplicate of ${survivor.key}: ticketflow created this ticket when a retried request could not yet find ${survivor.key} in Jira's search. It is closed; follow ${survivor.key}.`);
              const toDone = (await client.transitions(other.key)).find((t) => t.toCategory === 'done');
              if (toDone) await client.transition(other.key, toDone.id);
              // comment, transitions, transition: writes cost a point each, the transitions' list one
              tally.calls += toDone ? 3 : 2;
              tally.points += toDone ? 3 : 2;
              closed += 1;
              metrics.duplicatesClosed.inc({ connection: connectionKey });
              log.warn('closed a duplicate ticket left by a retried creation', { connection: connectionKey, duplicate: other.key, survivor: survivor.key });
            }
          }
          // The search may lag longer than assumed, so what it shows now may not be all: look again every cycle
          // for an hour, then stop.
          await orm.em.fork().nativeUpdate(
            JiraTicketInstance,
            { instanceId: d.instance_id, duplicateCheckAfter: { $lt: new Date(Date.now() - 3_600_000) } },
            { duplicateCheckAfter: null, updatedAt: new Date() },
          );
        }
        return { duplicatesClosed: closed };
      },
    },
  ];
}
