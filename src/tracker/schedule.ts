/**
 * Milliseconds until a ticket workflow's next poll, for workflows started before the connection's tracker
 * took polling over: the next boundary of the interval, shifted by a small fixed offset per connection.
 * Date.now() is workflow time: deterministic.
 */
export function untilNextPoll(intervalMinutes: number, connectionKey: string): number {
  return untilNextBoundary(intervalMinutes, fnv1a(connectionKey) % Math.min(60_000, Math.floor(Math.max(1_000, Math.round(intervalMinutes * 60_000)) / 10) + 1));
}

/**
 * Milliseconds until a tracker's next cycle: the next boundary of the interval, offset by a fixed share of
 * the interval per connection (from a hash of its key), so that the trackers of many connections spread
 * their reads over the interval instead of all reading at :00.
 */
export function untilNextCycle(intervalMinutes: number, connectionKey: string): number {
  const period = Math.max(1_000, Math.round(intervalMinutes * 60_000));
  return untilNextBoundary(intervalMinutes, fnv1a(connectionKey) % period);
}

function untilNextBoundary(intervalMinutes: number, offset: number): number {
  const period = Math.max(1_000, Math.round(intervalMinutes * 60_000));
  const now = Date.now();
  const next = Math.floor((now - offset) / period) * period + offset + period;
  return next - now;
}


function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
