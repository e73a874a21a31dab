import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One Jira connection's request budget, shared by every activity of a process. Calls start one at a time,
 * at least 1/perSecond apart (measured from when each actually started, with a 5% margin for network jitter),
 * so no one-second window ever holds more than the budget. A 429 closes the gate for everyone until its
 * Retry-After has passed (plus jitter, so several workers do not return at the same instant).
 */
export class RateGate {
  private lastStart = 0;
  private closedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(private perSecond: number | null) {}

  setBudget(perSecond: number | null): void {
    this.perSecond = perSecond;
  }

  /** Resolves when this call may be sent. */
  acquire(): Promise<void> {
    this.waiting += 1;
    const turn = this.queue.then(async () => {
      for (;;) {
        const spacing = this.perSecond ? (1000 / this.perSecond) * 1.05 : 0;
        const wait = Math.max(this.lastStart + spacing, this.closedUntil) - Date.now();
        if (wait <= 0) break;
        await sleep(wait);
      }
      this.lastStart = Date.now();
      this.waiting -= 1;
    });
    this.queue = turn;
    return turn;
  }

  /** Jira said 429: nobody calls before `retryAfterSeconds` (default 10) have passed. */
  close(retryAfterSeconds: number | undefined): void {
    const jitter = Math.random() * 500;
    this.closedUntil = Math.max(this.closedUntil, Date.now() + (retryAfterSeconds ?? 10) * 1000 + jitter);
  }

  get queued(): number {
    return this.waiting;
  }
}

/** Gates by connection key, one per process. */
export class RateGates {
  private readonly gates = new Map<string, RateGate>();

  constructor(private readonly defaultPerSecond: number | null) {}

  for(connectionKey: string, perSecond?: number | null): RateGate {
    const budget = perSecond === undefined ? this.defaultPerSecond : perSecond;
    let gate = this.gates.get(connectionKey);
    if (!gate) this.gates.set(connectionKey, (gate = new RateGate(budget)));
    else gate.setBudget(budget);
    return gate;
  }
}
