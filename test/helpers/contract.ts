import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Response } from 'got';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } };

/**
 * Checks every answer the API gives in the tests against the OpenAPI document it serves, as the fake Jira's
 * traffic is checked against Atlassian's: a status the operation does not document, or a JSON body that does
 * not match the schema given for it, fails the request that received it.
 */
export function apiContract(doc: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema({ $id: 'api', ...doc } as object);
  const compiled = new Map<string, ValidateFunction>();
  const operations = Object.entries(doc.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), template, op, re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`) })),
  );
  const problem = () => validator('/components/schemas/Problem');
  function validator(pointer: string): ValidateFunction {
    let v = compiled.get(pointer);
    if (!v) compiled.set(pointer, (v = ajv.compile({ $ref: `api#${pointer}` })));
    return v;
  }
  const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

  /** What is wrong with this answer, if anything. */
  function check(method: string, path: string, status: number, contentType: string, body: unknown): string[] {
    const found = operations.filter((o) => o.re.test(path)).sort((a, b) => b.template.replace(/\{[^}]+\}/g, '').length - a.template.replace(/\{[^}]+\}/g, '').length);
    const forMethod = found.find((o) => o.method === method || (method === 'HEAD' && o.method === 'GET'));
    const json = /json/.test(contentType);
    // Unknown routes and methods are answered by the app's own 404 and 405: problems.
    if (!forMethod) return json && status >= 400 && !problem()(body) ? [`${method} ${path} ${status}: not a problem+json: ${ajv.errorsText(problem().errors)}`] : [];
    const responses = forMethod.op.responses ?? {};
    const key = responses[String(status)] ? String(status) : null;
    if (!key) return [`${method} ${forMethod.template}: answered ${status}, which the document does not list (${Object.keys(responses).join(', ')})`];
    const media = Object.keys(responses[key]?.content ?? {});
    if (!json || method === 'HEAD') return [];
    const type = media.find((m) => contentType.startsWith(m)) ?? (status >= 400 ? 'application/problem+json' : media[0]);
    if (!type || !media.includes(type)) return [`${method} ${forMethod.template} ${status}: content type ${contentType} is not documented (${media.join(', ')})`];
    const v = validator(`/paths/${escape(forMethod.template)}/${forMethod.method.toLowerCase()}/responses/${key}/content/${escape(type)}/schema`);
    return v(body) ? [] : [`${method} ${forMethod.template} ${status}: the body does not match the document: ${ajv.errorsText(v.errors, { separator: '; ' })}`];
  }

  return {
    check,
    /** A got hook: throws (failing the call) when an answer breaks the contract. */
    hook(response: Response): Response {
      const url = new URL(response.url);
      const contentType = String(response.headers['content-type'] ?? '');
      let body: unknown = response.body;
      if (typeof body === 'string' && /json/.test(contentType)) {
        try {
          body = JSON.parse(body);
        } catch {
          // a test that asked for text: leave it as it came
        }
      }
      if (Buffer.isBuffer(body) && /json/.test(contentType)) body = JSON.parse(body.toString('utf8'));
      const problems = check(response.request.options.method, url.pathname, response.statusCode, contentType, body);
      if (problems.length) throw new Error(`the API broke its OpenAPI contract: ${problems.join(' | ')}`);
      return response;
    },
  };
}
