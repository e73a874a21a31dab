import type { Anomaly } from '../platform/db/entities.js';

/** Timestamps in comments read as in the reference product: `2024-01-15 10:30:00 UTC`. */
export const stamp = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/**
 * Times in the answers of the anomaly endpoints, as the reference product's API writes them: `2026-01-23T15:22:05`,
 * in UTC, to the second, without an offset. Takes our own dates and Jira's times (`2026-01-23T15:22:05.123+0100`);
 * a time without an offset is this format already, so UTC. One that cannot be read is left out (null) rather than
 * passed on in another format.
 */
export function answerTime(t: Date): string;
export function answerTime(t: Date | string | null | undefined): string | null;
export function answerTime(t: Date | string | null | undefined): string | null {
  if (t === null || t === undefined) return null;
  const d = t instanceof Date ? t : new Date(/(?:Z|[+-]\d\d:?\d\d)$/i.test(t) ? t.replace(/([+-]\d\d)(\d\d)$/, '$1:$2') : `${t}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 19);
}

const titleCase = (s: string) => s.replace(/[_-]+/g, ' ').replace(/\b\p{L}/gu, (c) => c.toUpperCase());

/** The anomaly's facts, added to a created ticket's description or, when linking, as a comment. */
export function anomalyBlock(a: Pick<Anomaly, 'id' | 'status' | 'type' | 'detectedAt' | 'failedChecks' | 'url'>, now: Date): string {
  const lines = [
    `Anomaly linked [${stamp(now)}] Anomaly ID: ${a.id} Status: ${titleCase(a.status)} Type: ${a.type}${a.detectedAt ? ` Detected: ${stamp(a.detectedAt)}` : ''}`,
  ];
  if (a.failedChecks.length) lines.push('Failed checks:', ...a.failedChecks.map((c) => `- ${c}`));
  if (a.url) lines.push(`View anomaly: ${a.url}`);
  return lines.join('\n');
}

export const createdDescription = (userText: string, block: string) => (userText.trim() ? `${userText.trim()}\n---\n${block}` : block);
export const statusComment = (status: string, at: Date) => `[${stamp(at)}] Anomaly status: ${titleCase(status)}`;
export const userComment = (author: string, text: string) => `Comment from ${author}: ${text}`;
export const unlinkComment = (anomalyId: string, at: Date) => `[${stamp(at)}] Unlinked from anomaly ${anomalyId}: changes are no longer synced to this ticket.`;
export const reopenComment = (anomalyId: string, at: Date) => `[${stamp(at)}] Reopened: anomaly ${anomalyId} is active again.`;
