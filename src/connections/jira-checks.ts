import type { CreateMetaField, JiraClient } from '../jira/client.js';
import { JiraApiError, JiraUnreachableError } from '../jira/errors.js';
import { compileTemplate } from '../templates/template.js';
import { conflict, DomainError, invalid, unavailable } from '../platform/errors.js';
import type { FieldMeta, SecretPatch, TicketSettings } from './settings.js';

/**
 * What a connection's ticket settings are checked against when saved: the project's create metadata (required
 * fields and their allowed values) and its workflows' statuses. A ticket configuration Jira would refuse is
 * refused here, naming the field, instead of failing each ticket creation later.
 */

/** The settings whose change makes the ticket fields be checked again. */
export const FIELD_SETTINGS = ['project_key', 'issue_type', 'custom_fields', 'priority', 'description_template', 'due_date_config', 'assignee_account_id'] as const;
/** The settings whose change makes the statuses named be checked again. */
export const STATUS_SETTINGS = ['project_key', 'done_status_ids', 'close_loop'] as const;

/** Fields Jira fills itself, or that ticketflow always sends. */
const ALWAYS_SET = new Set(['project', 'issuetype', 'summary', 'reporter', 'labels']);
const RETRY_AFTER_SECONDS = 30;

/** Jira's answer while checking, as the caller of PUT …/secret should see it. Nothing is saved on any of these. */
export async function askingJira<T>(fn: () => Promise<T>, credentialField: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (err instanceof JiraUnreachableError) throw unavailable(`Jira could not be asked to check the ticket settings (${err.reason}); nothing was saved, retry later`, RETRY_AFTER_SECONDS);
    if (err instanceof JiraApiError) {
      if (err.retryable) throw unavailable(`Jira answered ${err.status} while checking the ticket settings; nothing was saved, retry later`, err.retryAfterSeconds ?? RETRY_AFTER_SECONDS);
      if (err.status === 401) {
        if (credentialField) throw invalid(credentialField, `Jira refused the credentials (401), so the ticket settings could not be checked; nothing was saved. ${err.messages.join('; ')}`.trim());
        throw conflict('Jira refused the stored credentials (401): authorize the connection again, then save the ticket settings', { state: 'not_authorized' });
      }
      if (err.status === 403) throw invalid('body.project_key', `the credentials may not create issues there (403): ${err.messages.join('; ')}`);
      if (err.status === 404) throw invalid('body.domain', `Jira answered 404 for its REST API (${err.endpoint}): is domain the site's root URL (e.g. acme.atlassian.net, or https://jira.example.com/jira with a context path)?`);
      throw invalid('body.project_key', `Jira refused the check (${err.status}): ${err.messages.join('; ')}`);
    }
    throw err;
  }
}

export interface FieldsCheck {
  projectId: string;
  issueTypeId: string;
  /** the configured custom fields' types, which ticket creation turns rendered text into */
  fieldMeta: Record<string, FieldMeta>;
}

const literal = (template: string): string | null => {
  try {
    return compileTemplate(template)({}) === template ? template : null;
  } catch {
    return null;
  }
};
const allowedText = (f: CreateMetaField) => (f.allowedValues ?? []).map((v) => v.value ?? v.name ?? v.id ?? '').filter(Boolean);

/**
 * The project and issue type exist for these credentials, every field Jira requires has a value, every value
 * given is one Jira allows (where a template is plain text and so known now), and every field given is on the
 * create screen. Throws a 422 listing each field at fault.
 */
export async function checkTicketFields(client: JiraClient, s: TicketSettings): Promise<FieldsCheck> {
  const projects = await client.projects();
  const project = projects.find((p) => p.key === s.projectKey);
  if (!project) {
    throw invalid('body.project_key', `project ${s.projectKey} is not among the projects these credentials can create issues in (${projects.map((p) => p.key).join(', ') || 'none'})`);
  }
  const types = await client.issueTypes(project.id);
  const type = types.find((t) => t.name.toLowerCase() === s.issueType.toLowerCase() || t.id === s.issueType);
  if (!type) throw invalid('body.issue_type', `project ${s.projectKey} has no issue type ${s.issueType} (it has ${types.map((t) => t.name).join(', ')})`);
  const meta = await client.createMeta(project.key, type.id);
  const byId = new Map(meta.map((f) => [f.fieldId, f]));
  const errors: Array<{ field: string; message: string }> = [];
  const where = `${type.name} issues in ${project.key}`;

  const given: Record<string, { field: string; values: string[] | null }> = {};
  const add = (id: string, field: string, value: string | string[] | null | undefined) => {
    if (value === null || value === undefined) return;
    given[id] = { field, values: [value].flat() };
  };
  add('description', 'body.description_template', s.descriptionTemplate ?? undefined);
  add('priority', 'body.priority', s.priority ?? undefined);
  add('assignee', 'body.assignee_account_id', s.assigneeAccountId ?? undefined);
  if (s.dueDateConfig !== null) given.duedate = { field: 'body.due_date_config', values: null };
  for (const [id, v] of Object.entries(s.customFields ?? {})) if (id !== 'labels') add(id, `body.custom_fields.${id}`, v);

  for (const f of meta) {
    if (!f.required || f.hasDefaultValue || ALWAYS_SET.has(f.fieldId) || given[f.fieldId]) continue;
    const allowed = allowedText(f);
    const field = f.fieldId === 'description' ? 'body.description_template' : f.fieldId === 'duedate' ? 'body.due_date_config' : f.fieldId === 'priority' ? 'body.priority' : `body.custom_fields.${f.fieldId}`;
    errors.push({ field, message: `Jira requires "${f.name}" (${f.fieldId}) for ${where}${allowed.length ? `; allowed values: ${allowed.join(', ')}` : ''}` });
  }
  for (const [id, g] of Object.entries(given)) {
    const f = byId.get(id);
    if (!f) {
      // Description and due date are on nearly every screen, and Jira ignores nothing: a field off the screen is refused.
      if (id.startsWith('customfield_') || id === 'priority') errors.push({ field: g.field, message: `"${id}" is not on the create screen of ${where}, so Jira would refuse it` });
      continue;
    }
    const allowed = allowedText(f);
    if (!allowed.length || !g.values) continue;
    const known = new Set([...allowed, ...(f.allowedValues ?? []).flatMap((v) => [v.id, v.name, v.value].filter((x): x is string => !!x))]);
    for (const v of g.values) {
      const text = literal(v);
      if (text !== null && !known.has(text)) errors.push({ field: g.field, message: `"${text}" is not a value Jira allows for "${f.name}" (${id}) on ${where}; allowed: ${allowed.join(', ')}` });
    }
  }
  if (errors.length) throw invalid(errors[0]!.field, `Jira would refuse tickets with these settings: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });

  const fieldMeta: Record<string, FieldMeta> = {};
  for (const id of Object.keys(s.customFields ?? {})) {
    const f = byId.get(id);
    if (f) fieldMeta[id] = { name: f.name, type: f.schema.type, ...(f.schema.items ? { items: f.schema.items } : {}), ...(f.schema.custom ? { custom: f.schema.custom } : {}) };
  }
  return { projectId: project.id, issueTypeId: type.id, fieldMeta };
}

/** Every status id named (the mapping's and the closing status) is one of the project's workflows' statuses. */
export async function checkStatusIds(client: JiraClient, projectKey: string, patch: Pick<SecretPatch, 'done_status_ids' | 'close_loop'>): Promise<void> {
  const named: Array<{ field: string; id: string }> = [
    ...(patch.done_status_ids ?? []).map((id, i) => ({ field: `body.done_status_ids.${i}`, id })),
    ...(patch.close_loop?.status_id ? [{ field: 'body.close_loop.status_id', id: patch.close_loop.status_id }] : []),
  ];
  if (!named.length) return;
  const types = await client.projectStatuses(projectKey);
  const known = new Map(types.flatMap((t) => t.statuses.map((st) => [st.id, st.name] as const)));
  const errors = named.filter((n) => !known.has(n.id)).map((n) => ({
    field: n.field,
    message: `status ${n.id} is not used by project ${projectKey}'s workflows (its statuses: ${[...known].map(([id, name]) => `${id} ${name}`).join(', ')})`,
  }));
  if (errors.length) throw invalid(errors[0]!.field, `unknown status: ${errors.map((e) => e.message).join('; ')}`, { errors });
}
