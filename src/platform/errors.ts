/**
 * The one vocabulary of failures that services, activities' helpers and receivers use. They say what went
 * wrong in the domain's terms; only the HTTP layer (src/http/problem.ts) turns a kind into a status code and
 * problem+json, and only the Jira activity helpers turn one into a Temporal failure.
 */
export type DomainErrorKind =
  /** the thing asked for does not exist */
  | 'not_found'
  /** the state refuses the action (`state` names it) */
  | 'conflict'
  /** the input is well-formed but not acceptable (`field` names it) */
  | 'invalid'
  /** the input cannot be read at all */
  | 'malformed'
  /** the caller did not prove who it is (a token, a signature) */
  | 'unauthenticated'
  /** a dependency is away for now; nothing was changed: repeat after `retryAfterSeconds` */
  | 'unavailable'
  /** Jira (or Atlassian) answered with an error, or not at all */
  | 'upstream';

export interface DomainErrorDetails {
  /** the input at fault, e.g. `body.ticket_key` */
  field?: string;
  /** the state that refused the action, e.g. `creation_failed` */
  state?: string;
  retryAfterSeconds?: number;
  /** every field at fault, when several are */
  errors?: Array<{ field: string; message: string }>;
  /** more facts for the caller (Jira's status and messages, the missing settings, …) */
  [more: string]: unknown;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly details: DomainErrorDetails = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new DomainError('not_found', `${what} ${id} does not exist`);
export const conflict = (message: string, details: DomainErrorDetails = {}) => new DomainError('conflict', message, details);
export const invalid = (field: string, message: string, details: DomainErrorDetails = {}) => new DomainError('invalid', message, { field, ...details });
export const malformed = (field: string, message: string) => new DomainError('malformed', message, { field });
export const unauthenticated = (message: string, field?: string) => new DomainError('unauthenticated', message, field ? { field } : {});
export const unavailable = (message: string, retryAfterSeconds: number) => new DomainError('unavailable', message, { retryAfterSeconds });
export const upstream = (message: string, details: DomainErrorDetails = {}) => new DomainError('upstream', message, details);
