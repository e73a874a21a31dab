import type { Orm } from '../platform/db/orm.js';
import { AnomalyComment } from '../platform/db/entities.js';

/**
 * Appends a comment to the link's outbox with the next sequence number. With `unlink`, the link is marked
 * unlinked in the same transaction, once: a retried activity never queues the last comment twice.
 */
export async function enqueueComment(orm: Orm, linkId: string, body: string, opts: { unlink?: boolean } = {}): Promise<boolean> {
  return orm.em.fork().transactional(async (em) => {
    // update … returning: takes the next number and, for an unlink, claims it, in one statement under the row's lock
    const [row] = await em.execute<Array<{ comment_seq: number }>>(
      `update anomaly_ticket_link set comment_seq = comment_seq + 1, ${opts.unlink ? "state = 'unlinked', " : ''}updated_at = now()
       where link_id = ? ${opts.unlink ? "and state <> 'unlinked'" : ''} returning comment_seq`,
      [linkId],
    );
    if (!row) return false;
    await em.insert(AnomalyComment, { linkId, seq: row.comment_seq, body });
    return true;
  });
}
