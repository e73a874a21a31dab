import { z } from 'zod';
import type { Scope } from './tokens.js';
import { secretPatchSchema } from '../connections/settings.js';
import { linkSchema, privacyRequestSchema, statusPatchSchema, submitDataSchema } from './app.js';
import { connectionSchema, previewSchema } from '../connections/routes.js';
import { anomalyCommentSchema, anomalySchema, anomalyStatusSchema, connectionQuery, createTicketSchema, linkTicketSchema, ticketIdParam, ticketSearchQuery } from '../anomalies/routes.js';
import { oauthCallbackQuery, oauthInitiateSchema } from '../connections/oauth-routes.js';
import { requiredScope } from './auth.js';
import { codecRequest } from './codec-routes.js';
import { id, key } from './schemas.js';

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express syntax (`:id`); the document uses `{id}` */
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** 2xx status of a success */
  ok?: number;
  /** Path parameters the handler validates, by name; the others are documented as bounded strings. */
  params?: Record<string, z.ZodType>;
  /** The body may be left out (every field is optional). */
  bodyOptional?: boolean;
  /** Statuses besides the success and the generic errors: another 2xx (an upsert that updated) or a problem. */
  also?: number[];
}

const pr = { id };
const anomaly = { anomaly_id: id };
const conn = { key };
/** Answers of the routes that call Jira: 409 while the connection is not configured, 502 when Jira fails. */
const viaJira = [409, 502];

/**
 * Every route of the API with the zod schemas its handler parses: the OpenAPI 3.1 document at /openapi.json
 * is generated from them, and a test checks this list against Express's routes so neither drifts. A function:
 * the schemas live in the route modules, which import this one.
 */
export const operations = (): Operation[] => [
  { method: 'get', path: '/healthz', summary: 'Liveness', tag: 'operations' },
  { method: 'get', path: '/readyz', summary: 'Readiness: PostgreSQL and Temporal reachable (503 with Retry-After otherwise)', tag: 'operations' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'operations' },
  { method: 'patch', path: '/api/v1/connection', summary: 'Create or update connections', tag: 'connections', body: z.array(connectionSchema).min(1).max(50) },
  { method: 'get', path: '/api/v1/connection', summary: 'Connections, secrets masked', tag: 'connections' },
  { method: 'get', path: '/api/v1/connection/:key', summary: 'One connection, secrets masked', tag: 'connections', params: conn },
  { method: 'put', path: '/api/v1/connection/:key/secret', summary: 'Credentials and ticket settings (merged into what is stored)', tag: 'connections', body: secretPatchSchema, params: conn, also: [502] },
  { method: 'get', path: '/api/v1/connection/:key/jira/projects', summary: 'Projects the credentials can create issues in', tag: 'connections', params: conn, also: viaJira },
  { method: 'get', path: '/api/v1/connection/:key/jira/projects/:project/issuetypes', summary: "A project's issue types", tag: 'connections', params: conn, also: viaJira },
  { method: 'get', path: '/api/v1/connection/:key/jira/statuses', summary: 'Status categories', tag: 'connections', params: conn, also: viaJira },
  { method: 'get', path: '/api/v1/connection/:key/jira/template-variables', summary: 'Template variables and filters', tag: 'connections', params: conn },
  { method: 'post', path: '/api/v1/connection/:key/jira/preview', summary: 'Render the ticket for a sample or stored request', tag: 'connections', body: previewSchema, bodyOptional: true, params: conn },
  { method: 'post', path: '/api/v1/connection/:key/jira/test-ticket', summary: 'Create a test ticket', tag: 'connections', ok: 201, params: conn, also: viaJira },
  { method: 'get', path: '/api/v1/connection/:key/jira/test', summary: 'Test the connection, with a precise reason on failure', tag: 'connections', params: conn, also: [409] },
  { method: 'post', path: '/api/v1/oauth/jira/initiate', summary: 'Start OAuth 2.0 (3LO): the authorization URL', tag: 'connections', body: oauthInitiateSchema, also: [409] },
  { method: 'get', path: '/api/v1/oauth/jira/callback', summary: "Atlassian's redirect after consent (no token: the single-use state authenticates it)", tag: 'connections', query: oauthCallbackQuery, also: [409, 502] },
  { method: 'post', path: '/api/v1/privacy-request', summary: 'Upsert a privacy request; approved commits one ticket instance per enabled connection, whose workflow is started right after', tag: 'privacy requests', body: privacyRequestSchema, ok: 201, also: [200, 503] },
  { method: 'get', path: '/api/v1/privacy-request/:id', summary: 'A request (no identity data) with its tickets', tag: 'privacy requests', params: pr },
  { method: 'patch', path: '/api/v1/privacy-request/:id', summary: "Change a request's status", tag: 'privacy requests', body: statusPatchSchema, params: pr, also: [503] },
  { method: 'get', path: '/api/v1/privacy-request/:id/jira-tickets', summary: "The request's ticket instances", tag: 'privacy requests', params: pr },
  { method: 'post', path: '/api/v1/privacy-request/:id/jira-tickets/link', summary: 'Track an existing ticket instead', tag: 'privacy requests', body: linkSchema, ok: 202, params: pr, also: viaJira },
  { method: 'post', path: '/api/v1/privacy-request/:id/jira-tickets/:instance/submit-data', summary: "Submit the manual task's data", tag: 'privacy requests', body: submitDataSchema, ok: 202, params: pr, also: [409] },
  { method: 'post', path: '/api/v1/privacy-request/:id/jira-tickets/:instance/refresh', summary: 'Read the ticket from Jira now', tag: 'privacy requests', ok: 202, params: pr, also: [409] },
  { method: 'post', path: '/api/v1/privacy-request/:id/jira-tickets/:instance/retry', summary: 'Retry a failed ticket creation', tag: 'privacy requests', ok: 202, params: pr, also: [409] },
  { method: 'put', path: '/api/anomalies/:anomaly_id', summary: 'Upsert an anomaly as the upstream knows it', tag: 'anomalies', body: anomalySchema, ok: 201, params: anomaly, also: [200] },
  { method: 'get', path: '/api/anomalies/:anomaly_id', summary: 'An anomaly', tag: 'anomalies', params: anomaly },
  { method: 'post', path: '/api/integrations/ticketing/anomalies/:anomaly_id/tickets', summary: 'Create a ticket for an anomaly and link it', tag: 'anomalies', body: createTicketSchema, ok: 201, params: anomaly, also: viaJira },
  { method: 'get', path: '/api/anomalies/:anomaly_id/ticket-links', summary: "The anomaly's ticket links", tag: 'anomalies', params: anomaly },
  { method: 'post', path: '/api/anomalies/:anomaly_id/ticket-links', summary: 'Link an existing ticket', tag: 'anomalies', body: linkTicketSchema, ok: 201, params: anomaly, also: [200, ...viaJira, 503] },
  { method: 'delete', path: '/api/anomalies/:anomaly_id/ticket-links/:link_id', summary: 'Unlink a ticket', tag: 'anomalies', ok: 202, params: anomaly, also: [409] },
  { method: 'post', path: '/api/anomalies/:anomaly_id/ticket-links/:link_id/refresh', summary: 'Sync a link with Jira now', tag: 'anomalies', ok: 202, params: anomaly, also: [409] },
  { method: 'post', path: '/api/anomalies/:anomaly_id/status', summary: "Comment the anomaly's new status on every linked ticket", tag: 'anomalies', body: anomalyStatusSchema, ok: 202, params: anomaly },
  { method: 'post', path: '/api/anomalies/:anomaly_id/comments', summary: 'Comment on every linked ticket', tag: 'anomalies', body: anomalyCommentSchema, ok: 202, params: anomaly },
  { method: 'get', path: '/api/integrations/ticketing/tickets/search', summary: 'Search tickets by key or summary text', tag: 'anomalies', query: ticketSearchQuery, also: viaJira },
  { method: 'get', path: '/api/integrations/ticketing/tickets/:ticket_id', summary: 'One ticket', tag: 'anomalies', query: connectionQuery, params: { ticket_id: ticketIdParam }, also: viaJira },
  { method: 'get', path: '/api/integrations/ticketing/form-specification', summary: 'Fields of the create-ticket form', tag: 'anomalies', query: connectionQuery, also: viaJira },
  { method: 'post', path: '/webhooks/jira', summary: "Jira's webhook deliveries (X-Hub-Signature or an OAuth app's JWT)", tag: 'webhooks', ok: 202 },
  { method: 'post', path: '/webhooks/jira/:connectionKey', summary: "Jira's webhook deliveries for one connection", tag: 'webhooks', ok: 202, params: { connectionKey: key } },
  { method: 'post', path: '/codec/decode', summary: 'Temporal UI codec server: decrypt payloads', tag: 'operations', body: codecRequest },
  { method: 'post', path: '/codec/encode', summary: 'Temporal UI codec server: encrypt payloads', tag: 'operations', body: codecRequest },
];

const toJsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });

/**
 * The API (under /api) refuses NUL (U+0000) in every string of the URL and the body, as PostgreSQL cannot store
 * it: free-form strings say so with a pattern. Strings with a pattern, format, enum or const of their own exclude
 * it already. The codec endpoint stores nothing and takes it.
 */
function withoutNul<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(withoutNul) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' || k === 'const' || k === 'default' ? v : withoutNul(v)]));
  const free = !('pattern' in out || 'format' in out || 'enum' in out || 'const' in out);
  if (out.type === 'string' && free) out.pattern = '^[^\\u0000]*$';
  return out as T;
}

const problem = {
  description: 'application/problem+json naming the field at fault',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations()) {
    const jsonSchema = (schema: z.ZodType) => (op.path.startsWith('/api/') ? withoutNul(toJsonSchema(schema)) : toJsonSchema(schema));
    const path = op.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => {
      const { $schema: _, ...schema } = jsonSchema(op.params?.[name!] ?? z.string().min(1).max(128));
      return { name, in: 'path', required: true, schema };
    });
    if (op.query) {
      const q = jsonSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
    const scope: Scope | null = op.path.startsWith('/api/') ? requiredScope(op.method.toUpperCase(), op.path.slice('/api'.length)) : null;
    const responses: Record<string, unknown> = { [String(op.ok ?? 200)]: { description: 'success' } };
    if (op.body || op.query || parameters.length) Object.assign(responses, { 400: problem, 404: problem, 422: problem });
    if (op.body) Object.assign(responses, { 413: problem, 415: problem });
    if (op.query) responses['431'] = problem; // a query string over 16 KiB
    for (const status of op.also ?? []) responses[String(status)] = status < 300 ? { description: 'success' } : problem;
    if (scope || op.path.startsWith('/webhooks') || op.path.startsWith('/codec')) responses['401'] = problem;
    if (scope) responses['403'] = problem;
    paths[path] ??= {};
    paths[path][op.method] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: !op.bodyOptional, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      ...(scope ? { security: [{ bearer: [scope] }] } : { security: [] }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ticketflow',
      version: '0.1.0',
      description: 'Turns manual work into Jira tickets and sees it through, on Temporal. Tokens: `npm run token -- create --scope read|write|admin --name <who>`; admin ⊇ write ⊇ read.',
    },
    tags: ['privacy requests', 'anomalies', 'connections', 'webhooks', 'operations'].map((name) => ({ name })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token tf_<id>_<secret>' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, field: { type: 'string' }, errors: { type: 'array' } },
        },
      },
    },
    paths,
  };
}

/** The documentation page: the document rendered by the Swagger UI bundled with the app (no CDN). */
export const DOCS_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ticketflow API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
export const DOCS_INIT = "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });";
