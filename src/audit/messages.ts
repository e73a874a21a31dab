/** Console actions: signals and Updates operators send from outside ticketflow (see console-interceptor.ts). */

/** The patch under which workflows record console actions; histories from before it replay without. */
export const AUDIT_CONSOLE_ACTIONS = 'audit-console-actions';

export interface ConsoleAction {
  kind: 'signal' | 'update';
  name: string;
  /** an Update's outcome (its validator accepted it; the handler completed or failed) */
  outcome?: 'completed' | 'failed';
}
