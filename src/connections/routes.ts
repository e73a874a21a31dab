import express from 'express';
import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import { Connection, PrivacyRequest } from '../platform/db/entities.js';
import { secretPatchSchema, type TicketSettings } from './settings.js';
import { maskSecrets } from './secrets.js';
import { refuseHost } from './host-policy.js';
import type { ConnectionKit } from './kit.js';
import { normaliseBaseUrl } from '../jira/client.js';
import { checkConnection, connectionClient, loadConnection, viaJira } from './service.js';
import { issueInputFor, renderTicket, SAMPLE_REQUEST } from '../templates/render.js';
import { TEMPLATE_VARIABLES } from '../templates/template.js';
import { key } from '../http/schemas.js';
import { notFound, parse, Problem } from '../http/problem.js';
import type { ConnectionTrackers } from '../tracker/start.js';

export const connectionSchema = z
  .object({
    key,
    name: z.string().min(1).max(200),
    connection_type: z.literal('jira_ticket'),
    access: z.enum(['read', 'write']),
    disabled: z.boolean().default(false),
    description: z.string().max(2000).optional(),
  })
  .strict();

export const previewSchema = secretPatchSchema
  .pick({ summary_template: true, description_template: true, due_date_config: true })
  .extend({ privacy_request_id: z.string().min(1).max(128).optional() })
  .strict();

/** `/api/v1/connection`: connections, their secrets, and discovery and checks against their Jira. */
export function connectionRouter(orm: Orm, kit: ConnectionKit, trackers: ConnectionTrackers): express.Router {
  const { secrets, hostPolicy } = kit;
  const r = express.Router();
  const client = (k: unknown) => connectionClient(orm.em.fork(), kit, String(k));
  const connectionJson = (c: Connection) => ({
    key: c.key,
    name: c.name,
    connection_type: c.connectionType,
    access: c.access,
    disabled: c.disabled,
    secrets: maskSecrets(secrets.read(c)),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });

  r.patch('/', async (req, res) => {
    const items = parse(z.array(connectionSchema).min(1).max(50), req.body);
    await orm.em.fork().transactional(async (tx) => {
      for (const c of items) {
        await tx.upsert(Connection, { key: c.key, name: c.name, connectionType: c.connection_type, access: c.access, disabled: c.disabled });
      }
    });
    // Committed first: a tracker that cannot be started now is started by the trackers' next pass.
    await Promise.all(items.map((c) => trackers.follow(c.key, c.disabled)));
    res.json({ succeeded: items, failed: [] });
  });

  r.get('/', async (_req, res) => {
    const all = await orm.em.fork().find(Connection, {}, { orderBy: { key: 'asc' } });
    res.json({ items: all.map(connectionJson), total: all.length });
  });

  r.get('/:key', async (req, res) => {
    res.json(connectionJson(await loadConnection(orm.em.fork(), String(req.params.key))));
  });

  r.put('/:key/secret', async (req, res) => {
    const patch = parse(secretPatchSchema, req.body);
    const em = orm.em.fork();
    const c = await loadConnection(em, String(req.params.key));
    if (patch.domain) {
      const refused = await refuseHost(normaliseBaseUrl(patch.domain), hostPolicy);
      if (refused) throw new Problem(422, 'Unprocessable Content', `body.domain: ${refused}`, { field: 'body.domain' });
    }
    const all: Record<string, unknown> = { ...secrets.read(c), ...patch };
    if (all.auth_method === 'scoped_api_token' && typeof all.domain === 'string' && (patch.domain || patch.auth_method || !all.cloud_id)) {
      // Scoped tokens only work through api.atlassian.com, addressed by the site's cloud id.
      all.cloud_id = await kit.connector.resolveCloudId(normaliseBaseUrl(all.domain)).catch((e: Error) => {
        throw new Problem(422, 'Unprocessable Content', `body.domain: could not resolve the site's cloud id (${e.message})`, { field: 'body.domain' });
      });
    }
    secrets.write(c, all);
    await em.flush();
    res.json({ msg: `Secrets updated for connection ${c.key}.`, connection_key: c.key, secrets: maskSecrets(all) });
  });

  r.get('/:key/jira/projects', async (req, res) => {
    const { client: jira } = await client(req.params.key);
    res.json(await viaJira(() => jira.projects()));
  });

  r.get('/:key/jira/projects/:project/issuetypes', async (req, res) => {
    const { client: jira } = await client(req.params.key);
    const projects = await viaJira(() => jira.projects());
    const project = projects.find((p) => p.key === String(req.params.project).toUpperCase());
    if (!project) throw notFound('Jira project (with create permission)', String(req.params.project));
    res.json(await viaJira(() => jira.issueTypes(project.id)));
  });

  r.get('/:key/jira/statuses', async (req, res) => {
    const { client: jira } = await client(req.params.key);
    res.json(await viaJira(() => jira.statusCategories()));
  });

  r.get('/:key/jira/template-variables', async (req, res) => {
    await loadConnection(orm.em.fork(), String(req.params.key));
    res.json(TEMPLATE_VARIABLES.map((v) => ({ variable: `__${v.name}__`, description: v.description, example: v.example })));
  });

  /** Renders templates (given or stored) with sample values or a real request's, without calling Jira. */
  r.post('/:key/jira/preview', async (req, res) => {
    // No body: sample values and the stored templates. A body, even JSON null, must be the object the schema describes.
    const body = parse(previewSchema, req.body === undefined ? {} : req.body);
    const em = orm.em.fork();
    const c = await loadConnection(em, String(req.params.key));
    const stored = c.secrets as Record<string, unknown>;
    const settings = {
      summaryTemplate: body.summary_template ?? (stored.summary_template as string | undefined) ?? 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__',
      descriptionTemplate: body.description_template !== undefined ? body.description_template : ((stored.description_template as string | null | undefined) ?? null),
      dueDateConfig: 'due_date_config' in body ? body.due_date_config : (stored.due_date_config as TicketSettings['dueDateConfig']),
    } as TicketSettings;
    let facts = SAMPLE_REQUEST;
    if (body.privacy_request_id) {
      const request = await em.findOne(PrivacyRequest, { id: body.privacy_request_id });
      if (!request) throw notFound('privacy request', body.privacy_request_id);
      facts = request;
    }
    const t = renderTicket(settings, facts);
    res.json({ summary: t.summary, description: t.description ?? null, due_date: t.dueDate, sample_data: !body.privacy_request_id });
  });

  /** Creates a real ticket rendered with sample data, to prove the whole path works. */
  r.post('/:key/jira/test-ticket', async (req, res) => {
    const { settings, client: jira } = await client(req.params.key);
    const input = issueInputFor(settings, SAMPLE_REQUEST, { label: 'ticketflow-test', summaryPrefix: '[TEST] ' });
    const created = await viaJira(() => jira.createIssue(input));
    res.status(201).json({ ticket_id: created.id, ticket_key: created.key, ticket_url: created.url, summary: input.summary });
  });

  r.get('/:key/jira/test', async (req, res) => {
    const { settings, client: jira } = await client(req.params.key);
    res.json(await checkConnection(settings, jira));
  });

  return r;
}
