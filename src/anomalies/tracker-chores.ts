import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import { signalIfRunning } from '../platform/temporal/signals.js';
import { HEAL_AFTER_SECONDS, type TrackerChore } from '../tracker/chores.js';
import { commentAddedSignal } from './messages.js';

/** What the anomaly feature has each connection's tracker do every cycle. */
export function anomalyChores({ orm, temporal }: { orm: Orm; temporal: Client }): TrackerChore[] {
  return [
    {
      name: 'undelivered comments',
      /** Comments queued but not delivered (the commentAdded wake-up was lost): wake their links again. */
      async run({ connectionKey }) {
        // SQL: a join across the link and its outbox
        const lost = await orm.em.getConnection().execute<Array<{ workflow_id: string }>>(
          `select distinct l.workflow_id from anomaly_ticket_link l join anomaly_comment c on c.link_id = l.link_id
           where l.connection_key = ? and l.state = 'active' and c.delivered_at is null and c.accepted_at < now() - make_interval(secs => ?)`,
          [connectionKey, HEAL_AFTER_SECONDS],
        );
        let healed = 0;
        for (const { workflow_id } of lost) healed += Number(await signalIfRunning(temporal, workflow_id, commentAddedSignal));
        return { healed };
      },
    },
  ];
}
