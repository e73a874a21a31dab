import createFetchClient, { type Middleware } from 'openapi-fetch';
import createClient from 'openapi-react-query';
import type { components, paths } from './schema.gen';

/**
 * The console's one way to the API: a client typed from the OpenAPI document the API serves (schema.gen.ts
 * is generated from the route registry at build time), so a route or answer that changes fails the build.
 */
export type Paths = paths;
/** The JSON answer of an operation, for a status. */
export type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer T } } };
}
  ? T
  : never;
/** The JSON body an operation takes. */
export type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;

/** RFC 9457 problem+json as the API answers it: `field` (and `errors[].field`) name the input at fault. */
export type Problem = components['schemas']['Problem'] & { [more: string]: unknown };

const TOKEN_KEY = 'ticketflow.console.token';

/** The API token lives in this tab's sessionStorage only: never in a URL, never in localStorage or a cookie. */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let onUnauthorized: () => void = () => {};
/** What to do when the API says the token is no longer good (revoked, expired): the session ends. */
export const whenUnauthorized = (fn: () => void) => void (onUnauthorized = fn);

const bearer: Middleware = {
  onRequest({ request }) {
    const token = tokenStore.get();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && tokenStore.get()) onUnauthorized();
    return response;
  },
};

export const api = createFetchClient<paths>({ baseUrl: window.location.origin });
api.use(bearer);
export const $api = createClient(api);

/** A problem from anything thrown: the API's problem+json, or a network failure said in the same shape. */
export function asProblem(err: unknown): Problem {
  if (err && typeof err === 'object' && 'status' in err && 'detail' in err) return err as Problem;
  const detail = err instanceof Error ? err.message : typeof err === 'string' && err ? err : 'the API could not be reached';
  return { type: 'about:blank', title: 'Request failed', status: 0, detail: `${detail}; is the API running?` };
}

/** The message for one field (`body.summary_template`, `body.labels.1`, …), or for any field under a prefix. */
export function fieldError(problem: Problem | null | undefined, field: string): string | undefined {
  if (!problem) return undefined;
  const errors = (problem.errors ?? []) as Array<{ field?: string; message?: string }>;
  const hit = errors.find((e) => e.field === field || e.field?.startsWith(`${field}.`));
  if (hit) return hit.message;
  if (problem.field === field || problem.field?.startsWith(`${field}.`)) return problem.detail;
  return undefined;
}

/** Unwraps an openapi-fetch answer: the data, or the problem thrown. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await call;
  } catch (err) {
    throw asProblem(err);
  }
  if (answer.error !== undefined || !answer.response.ok) throw asProblem(answer.error ?? `${answer.response.status} ${answer.response.statusText}`);
  return answer.data as T;
}
