import type { Orm } from '../platform/db/orm.js';

/**
 * Appends a comment to the link's outbox with the next sequence number. `guard` (SQL on the link row) and
 * `set` (more assignments) apply in the same transaction, so a retried activity never queues it twice.
 */
export async function enqueueComment(orm: Orm, linkId: string, body: string, opts: { guard?: string; set?: string } = {}): Promise<boolean> {
  return orm.em.fork().transactional(async (em) => {
    const [row] = await em.execute<Array<{ comment_seq: number }>>(
      `update anomaly_ticket_link set comment_seq = comment_seq + 1, ${opts.set ? `${opts.set}, ` : ''}updated_at = now()
       where link_id = ? and ${opts.guard ?? 'true'} returning comment_seq`,
      [linkId],
    );
    if (!row) return false;
    await em.execute('insert into anomaly_comment (link_id, seq, body) values (?, ?, ?)', [linkId, row.comment_seq, body]);
    return true;
  });
}
