import type { Client } from '@temporalio/client';
import type { Orm } from '../platform/db/orm.js';
import type { Keyring } from '../platform/keyring.js';
import { log } from '../platform/log.js';
import { PersonalDataEraser, type ErasureReport } from './eraser.js';
import { PersonalDataSeal } from './sealing.js';
import { startJiraRedaction, type PrivacySettings } from './starts.js';

/**
 * Personal data as the rest of the product uses it: the seal that stores and opens it, and erasure, which
 * then starts the redaction of the request's tickets in Jira where their connection asks for it. Built once
 * per process (API and worker) over SECRET_KEYS' keyring.
 */
export class PersonalDataService {
  readonly seal: PersonalDataSeal;
  readonly eraser: PersonalDataEraser;

  constructor(
    orm: Orm,
    keyring: Keyring,
    private readonly temporal: Client,
    private readonly taskQueue: string,
    readonly settings: PrivacySettings,
  ) {
    this.seal = new PersonalDataSeal(keyring);
    this.eraser = new PersonalDataEraser(orm, this.seal);
  }

  /**
   * Erases now (committed before this returns) and starts the Jira redaction it asked for. A redaction that
   * cannot be started now stays pending in PostgreSQL and is started by the next retention run.
   */
  async erase(privacyRequestId: string, reason: 'on_demand' | 'retention' = 'on_demand'): Promise<ErasureReport & { redactionStarted: boolean }> {
    const report = await this.eraser.erase(privacyRequestId, reason);
    let redactionStarted = false;
    if (report.tickets.some((t) => t.jira_redaction === 'pending')) {
      redactionStarted = await startJiraRedaction(this.temporal, this.taskQueue, privacyRequestId).then(
        () => true,
        (err: Error) => {
          log.warn('could not start the Jira redaction now; the next retention run starts it', { privacyRequestId, error: err.message });
          return false;
        },
      );
    }
    return { ...report, redactionStarted };
  }

  /**
   * With a retention of 0 nothing is kept beyond completion: erased the moment the request's manual tasks
   * complete or it is canceled or denied (the retention schedule catches any this misses).
   */
  async eraseIfNotRetained(privacyRequestId: string): Promise<void> {
    if (this.settings.personalDataRetentionDays !== 0) return;
    await this.erase(privacyRequestId, 'retention');
  }
}
