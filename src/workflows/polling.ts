import type { TicketChange } from './messages.js';

/**
 * Milliseconds until this workflow's next poll: the next boundary of the interval (shifted by a small,
 * fixed offset per connection). Every ticket of a connection polls at the same instants, so the reads of a
 * cycle coalesce into bulk reads, while connections spread out. Date.now() is workflow time: deterministic.
 */
export function untilNextPoll(intervalMinutes: number, connectionKey: string): number {
  const period = Math.max(1_000, Math.round(intervalMinutes * 60_000));
  const offset = fnv1a(connectionKey) % Math.min(60_000, Math.floor(period / 10) + 1);
  const now = Date.now();
  const next = Math.floor((now - offset) / period) * period + offset + period;
  return next - now;
}

/** A webhook's news is applied unless the ticket state we hold is already newer (deliveries can arrive out of order). */
export function isNewer(change: TicketChange, lastUpdated: string | null | undefined): boolean {
  if (!change.updated || !lastUpdated) return true;
  return Date.parse(change.updated) >= Date.parse(lastUpdated);
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
