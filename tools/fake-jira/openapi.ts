import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Checks HTTP exchanges against Atlassian's OpenAPI description of Jira Cloud REST v3, so the fake Jira
 * cannot drift from the real contract and the client cannot send what Jira would refuse.
 */
export class JiraContract {
  private readonly ajv: Ajv;
  private readonly operations: Array<{ method: string; template: string; re: RegExp; op: Operation }> = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  /** `specPath`: the description as JSON, or gzipped JSON (`.gz`), as the repository keeps it. */
  constructor(specPath: string) {
    const raw = readFileSync(specPath);
    const doc = JSON.parse((specPath.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as { paths: Record<string, Record<string, Operation>> };
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
    addFormats(this.ajv);
    for (const f of ['int32', 'int64', 'double', 'float', 'binary', 'byte']) this.ajv.addFormat(f, true);
    this.ajv.addSchema(doc as object, 'jira');
    for (const [template, item] of Object.entries(doc.paths)) {
      const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
      for (const [method, op] of Object.entries(item)) {
        if (['get', 'post', 'put', 'delete', 'patch'].includes(method)) this.operations.push({ method: method.toUpperCase(), template, re, op });
      }
    }
    // Literal segments beat parameters: /issue/createmeta must not match /issue/{issueIdOrKey}.
    this.operations.sort((a, b) => b.template.replace(/\{[^}]+\}/g, '').length - a.template.replace(/\{[^}]+\}/g, '').length);
  }

  private find(method: string, path: string) {
    return this.operations.find((o) => o.method === method && o.re.test(path));
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `jira#${pointer}` });
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /** Problems with a request, as readable strings; empty when it conforms. */
  checkRequest(method: string, path: string, body: unknown): string[] {
    const found = this.find(method, path);
    if (!found) return [`${method} ${path} is not an operation of Jira Cloud REST v3`];
    const content = found.op.requestBody?.content?.['application/json'];
    if (!content?.schema || body === undefined) {
      return found.op.requestBody?.required && body === undefined ? [`${method} ${found.template}: request body is required`] : [];
    }
    const pointer = `/paths/${escape(found.template)}/${found.method.toLowerCase()}/requestBody/content/application~1json/schema`;
    return this.run(pointer, body, `${method} ${found.template} request`);
  }

  /** Problems with a response; a status the spec does not list for the operation is a problem too. */
  checkResponse(method: string, path: string, status: number, body: unknown): string[] {
    const found = this.find(method, path);
    if (!found) return [];
    const key = found.op.responses[String(status)] ? String(status) : found.op.responses.default ? 'default' : null;
    if (!key) return [`${method} ${found.template}: status ${status} is not a documented response`];
    const content = found.op.responses[key]?.content?.['application/json'];
    if (!content?.schema) return [];
    const pointer = `/paths/${escape(found.template)}/${found.method.toLowerCase()}/responses/${key}/content/application~1json/schema`;
    return this.run(pointer, body, `${method} ${found.template} ${status} response`);
  }

  private run(pointer: string, value: unknown, what: string): string[] {
    const v = this.validator(pointer);
    if (v(value)) return [];
    return (v.errors ?? []).map((e) => `${what}: ${e.instancePath || '(root)'} ${e.message}`);
  }
}

interface Operation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> } | undefined>;
}

const escape = (template: string) => template.replace(/~/g, '~0').replace(/\//g, '~1');
