export type StatusCategory = 'new' | 'indeterminate' | 'done';

/**
 * A status category key as ticketflow tracks it. Matched on the category, never on the localised status name;
 * Jira's "undefined" category (and anything unknown) counts as not started.
 */
export function categoryOf(key: string | undefined | null): StatusCategory {
  return key === 'done' || key === 'indeterminate' ? key : 'new';
}

/**
 * Whether a status counts as done for a connection: one of the statuses its mapping names (by id, so renamed or
 * translated statuses keep their meaning), or, without a mapping, any status of Jira's `done` category (which
 * includes "Won't Do": a mapping leaves such statuses out).
 */
export function countsAsDone(mapping: readonly string[] | null | undefined, statusId: string | null | undefined, category: string | null | undefined): boolean {
  return mapping?.length ? !!statusId && mapping.includes(statusId) : category === 'done';
}
