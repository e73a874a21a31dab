export type StatusCategory = 'new' | 'indeterminate' | 'done';

/**
 * A status category key as ticketflow tracks it. Matched on the category, never on the localised status name;
 * Jira's "undefined" category (and anything unknown) counts as not started.
 */
export function categoryOf(key: string | undefined | null): StatusCategory {
  return key === 'done' || key === 'indeterminate' ? key : 'new';
}
