import { z } from 'zod';
import { ISSUE_KEY } from '../jira/issue-key.js';

/** Identifiers appear in URLs and workflow ids: a safe, bounded alphabet keeps both readable and unambiguous. */
export const key = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, 'must be 1-100 letters, digits, _ . or -');
export const id = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, _ . : or -');
export const timestamp = z.iso.datetime({ offset: true });
/** A Jira issue key in a request, upper-cased as Jira writes it. */
export const issueKey = z.string().regex(ISSUE_KEY, 'must be a Jira issue key such as PRIV-456').transform((k) => k.toUpperCase());

/** In answers: a time as JSON carries a Date (ISO 8601 in UTC), or nothing. */
export const isoTime = z.iso.datetime();
export const maybeTime = isoTime.nullable();
