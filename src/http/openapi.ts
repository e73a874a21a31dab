import { z } from 'zod';
import { requiredScope } from './auth.js';
import { pathParamSchema, TAGS, type Answer, type Route } from './route.js';

const inputSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
const outputSchema = (schema: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

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

const answer = (a: Answer) =>
  a instanceof z.ZodType ? { description: 'success', content: { 'application/json': { schema: outputSchema(a) } } } : { description: a.description, content: { [a.type]: { schema: { type: 'string' } } } };

/**
 * The OpenAPI 3.1 document of the routes served, generated from the same zod schemas the handlers parse and
 * answer with (src/http/route.ts): requests, parameters, every success answer, and the problems.
 */
export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const api = r.path.startsWith('/api/');
    const jsonIn = (schema: z.ZodType) => (api ? withoutNul(inputSchema(schema)) : inputSchema(schema));
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [...r.path.matchAll(/:(\w+)/g)].map(([, name]) => {
      const { $schema: _, ...schema } = jsonIn(pathParamSchema(r, name!));
      return { name, in: 'path', required: true, schema };
    });
    if (r.query) {
      const q = jsonIn(r.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
    const scope = api ? requiredScope(r.method.toUpperCase(), r.path.slice('/api'.length)) : null;
    const responses: Record<string, unknown> = Object.fromEntries(Object.entries(r.answers).map(([status, a]) => [status, answer(a)]));
    if (r.body || r.query || parameters.length) Object.assign(responses, { 400: problem, 404: problem, 422: problem });
    if (r.body) Object.assign(responses, { 413: problem, 415: problem });
    if (r.query) responses['431'] = problem; // a query string over 16 KiB
    for (const status of r.problems ?? []) responses[String(status)] = problem;
    if (scope || r.path.startsWith('/webhooks') || r.path.startsWith('/codec')) responses['401'] = problem;
    if (scope) responses['403'] = problem;
    // Any route that reads or writes PostgreSQL answers 503 with Retry-After while it cannot be reached.
    if (api || r.path.startsWith('/webhooks')) responses['503'] = problem;
    paths[path] ??= {};
    paths[path][r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: !r.bodyOptional, content: { 'application/json': { schema: jsonIn(r.body) } } } } : {}),
      ...(scope ? { security: [{ bearer: [scope] }] } : { security: [] }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ticketflow',
      version: '0.2.0',
      description:
        'Turns manual work into Jira tickets and sees it through, on Temporal. Tokens: `npm run token -- create --scope read|write|admin --name <who>`; admin ⊇ write ⊇ read. Times are ISO 8601 in UTC: under /api/v1 with milliseconds and Z (2026-01-23T15:22:05.000Z); under /api/anomalies and /api/integrations/ticketing as the reference product writes them, to the second and without an offset (2026-01-23T15:22:05). Changes callers see: CHANGELOG.md.',
    },
    tags: TAGS.map((name) => ({ name })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token tf_<id>_<secret>' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            field: { type: 'string' },
            state: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
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
