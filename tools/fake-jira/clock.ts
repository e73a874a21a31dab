/**
 * The fake Jira's "now": real time plus an offset an admin moves (`POST /_fake/clock`), so a benchmark can live
 * through a simulated day in minutes. Issue timestamps, relative JQL, the hourly points quota and the search lag
 * read it; burst and per-issue write limits keep real time, because they are about real request rates, and so do
 * OAuth token lifetimes and webhook expiry and deliveries, which the product checks against its own clock.
 */
export class FakeClock {
  offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  state() {
    return { now: this.iso(), offsetMs: this.offsetMs };
  }
}
