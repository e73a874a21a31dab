import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { ClientInterceptors, WorkflowClientInterceptor } from '@temporalio/client';

/**
 * What ticketflow's own Temporal clients (API and worker) put on every signal and Update they send: a header
 * that tells the workflow the message came from ticketflow, which audits it at its API. A signal or Update
 * without it came from outside (the Temporal UI, the CLI): a console action, which the workflow records
 * (src/audit/console-interceptor.ts).
 */
export const CALLER_HEADER = 'ticketflow-caller';

const mark = (headers: Headers): Headers => ({ ...headers, [CALLER_HEADER]: defaultPayloadConverter.toPayload('ticketflow') });

/** Marks what ticketflow's clients send, so workflows tell their own API's messages from an operator's. */
const caller: WorkflowClientInterceptor = {
  signal: (input, next) => next({ ...input, headers: mark(input.headers) }),
  signalWithStart: (input, next) => next({ ...input, headers: mark(input.headers) }),
  startUpdate: (input, next) => next({ ...input, headers: mark(input.headers) }),
  startUpdateWithStart: (input, next) => next({ ...input, updateHeaders: mark(input.updateHeaders) }),
};

/** The interceptors of every Temporal client ticketflow makes. */
export const ticketflowClientInterceptors: ClientInterceptors = { workflow: [caller] };
