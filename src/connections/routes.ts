import { z } from 'zod';
import type { Orm } from '../platform/db/orm.js';
import { Connection, JiraTracker, OAuthState, PrivacyRequest } from '../platform/db/entities.js';
import { AUTHORIZED_METHODS, DATA_CENTER_METHODS, secretPatchSchema, ticketSettings, type AuthMethod, type TicketSettings } from './settings.js';
import { maskSecrets } from './secrets.js';
import { askingJira, checkStatusIds, checkTicketFields, FIELD_SETTINGS, STATUS_SETTINGS } from './jira-checks.js';
import { generateOAuth1KeyPair, publicKeyOf } from './oauth1.js';
import { disconnect, disconnectAnswer } from './disconnect.js';
import { webhookModeOf, webhookUrl, WEBHOOK_EVENTS, type ServerWebhook } from '../jira-webhooks/settings.js';
import { randomBytes } from 'node:crypto';
import { refuseHost } from '../jira/host-policy.js';
import type { ConnectionKit } from './kit.js';
import { normaliseBaseUrl } from '../jira/client.js';
import { checkConnection, connectionClient, loadConnection, mergeSecrets, viaJira } from './service.js';
import { connectionHealth, healthAnswer, openTicketsOf } from './health.js';
import { issueInputFor, renderTicket, SAMPLE_REQUEST } from '../templates/render.js';
import { TEMPLATE_VARIABLES } from '../templates/template.js';
import { isoTime, key } from '../http/schemas.js';
import { auditNote, route, type Route } from '../http/route.js';
import { PersonalDataSeal } from '../personal-data/sealing.js';
import { conflict, invalid, notFound } from '../platform/errors.js';
import type { ConnectionTrackers } from '../tracker/starts.js';

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
  .pick({ summary_template: true, description_template: true, due_date_config: true, labels: true, custom_fields: true })
  .extend({ privacy_request_id: z.string().min(1).max(128).optional() })
  .strict();

// ---- Answers ----

/** Settings as stored, credentials masked (`**********`): any field PUT …/secret takes, and those ticketflow resolved. */
const maskedSecrets = z.record(z.string(), z.unknown());
export const connectionAnswer = z
  .object({
    key: z.string(),
    name: z.string(),
    connection_type: z.string(),
    access: z.string(),
    disabled: z.boolean(),
    secrets: maskedSecrets,
    health: healthAnswer,
    created_at: isoTime,
    updated_at: isoTime,
  })
  .strict();
const connectionList = z.object({ items: z.array(connectionAnswer), total: z.number().int() }).strict();
const patchAnswer = z.object({ succeeded: z.array(connectionSchema.extend({ disabled: z.boolean() })), failed: z.array(z.unknown()) }).strict();
const secretAnswer = z.object({ msg: z.string(), connection_key: z.string(), secrets: maskedSecrets }).strict();
const projectAnswer = z.object({ id: z.string(), key: z.string(), name: z.string() }).strict();
const issueTypeAnswer = z.object({ id: z.string(), name: z.string(), description: z.string() }).strict();
const statusCategoryAnswer = z.object({ id: z.number(), key: z.string(), name: z.string(), colorName: z.string() }).strict();
const variableAnswer = z.object({ variable: z.string(), description: z.string(), example: z.string() }).strict();
const previewAnswer = z
  .object({
    summary: z.string(),
    description: z.string().nullable(),
    due_date: z.string().nullable(),
    labels: z.array(z.string()),
    fields: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    sample_data: z.boolean(),
  })
  .strict();
const priorityAnswer = z.object({ id: z.string(), name: z.string() }).strict();
const deleteAnswer = z
  .object({
    deleted: z.string(),
    open_tickets: z.object({ privacy_request_tickets: z.number().int(), anomaly_links: z.number().int() }).strict(),
    outcome: z.string().describe('what becomes of the open tickets'),
  })
  .strict();
const testTicketAnswer = z.object({ ticket_id: z.string(), ticket_key: z.string(), ticket_url: z.string(), summary: z.string() }).strict();
const statusAnswer = z.object({ id: z.string(), name: z.string(), category: z.string() }).strict();
const projectStatusesAnswer = z.array(z.object({ issue_type_id: z.string(), issue_type: z.string(), statuses: z.array(statusAnswer) }).strict());
const fieldAnswer = z
  .object({
    field_id: z.string(),
    name: z.string(),
    required: z.boolean(),
    has_default_value: z.boolean(),
    type: z.string(),
    items: z.string().nullable(),
    custom: z.string().nullable(),
    allowed_values: z.array(z.object({ id: z.string().nullable(), value: z.string() }).strict()).nullable(),
  })
  .strict();
const webhookAnswer = z
  .object({
    mode: z.enum(['dynamic', 'registered', 'manual']),
    /** what applies to this connection, in words */
    detail: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    jql_filter: z.string(),
    /** the secret to paste, shown only by POST …/jira/webhook-secret, once */
    secret: z.string().optional(),
    secret_set: z.boolean(),
    registered: z.object({ id: z.string(), registered_at: z.string() }).strict().nullable(),
  })
  .strict();
const checkAnswer = z.union([
  z.object({ status: z.literal('connected'), account: z.string(), project_key: z.string() }).strict(),
  z.object({ status: z.literal('failed'), reason: z.string(), detail: z.string() }).strict(),
]);

/** What connection routes start and stop beside the tracker: the webhook keep-alive, and where webhooks deliver. */
export interface ConnectionWebhooks {
  /** starts the keep-alive, or has the running one look again now */
  refresh(connectionKey: string): Promise<void>;
  stop(connectionKey: string): Promise<void>;
  /** ticketflow's public URL (WEBHOOK_BASE_URL), if known */
  baseUrl(): string | undefined;
}

/** Settings that, once complete, let the keep-alive register a Data Center webhook, or must re-register it. */
const WEBHOOK_SETTINGS = ['auth_method', 'domain', 'username', 'api_key', 'jql_scope', 'project_key'] as const;

/** `/api/v1/connection`: connections, their secrets, and discovery and checks against their Jira. */
export function connectionRoutes(orm: Orm, kit: ConnectionKit, trackers: ConnectionTrackers, webhooks: ConnectionWebhooks): Route[] {
  const { secrets, hostPolicy } = kit;
  const seal = new PersonalDataSeal(secrets.keyring);
  const client = (k: string) => connectionClient(orm.em.fork(), kit, k);
  /** For the pickers of the setup: the credentials suffice, before a project is chosen. */
  const discovery = (k: string) => connectionClient(orm.em.fork(), kit, k, { discovery: true });
  const connectionJson = async (c: Connection) => ({
    key: c.key,
    name: c.name,
    connection_type: c.connectionType,
    access: c.access,
    disabled: c.disabled,
    secrets: maskSecrets(secrets.read(c)),
    health: await connectionHealth(orm.em.fork(), kit, c),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });
  const conn = { key };
  /** The webhook set-up of a connection as an administrator needs it. */
  const webhookInfo = (c: Connection): z.infer<typeof webhookAnswer> => {
    const all = secrets.read(c);
    const mode = webhookModeOf(all);
    const base = webhooks.baseUrl();
    const url = webhookUrl(base ?? 'https://<ticketflow>', c.key);
    const settings = ticketSettings(all);
    const scope = 'missing' in settings ? (typeof all.jql_scope === 'string' ? all.jql_scope : `project = "${String(all.project_key ?? '<project_key>')}"`) : settings.jqlScope;
    const server = all.server_webhook as ServerWebhook | undefined;
    const method = (all.auth_method ?? 'api_token') as AuthMethod;
    const details: Record<typeof mode, string> = {
      dynamic: base
        ? 'Jira Cloud OAuth 2.0: ticketflow registers dynamic webhooks itself (filtered by project, as Cloud takes only that much JQL) and refreshes them before their 30 days end'
        : 'Jira Cloud OAuth 2.0 registers dynamic webhooks once WEBHOOK_BASE_URL names ticketflow\'s public URL; until then the tracker polls',
      registered: server?.id
        ? `ticketflow registered webhook ${server.id} in Jira (/rest/webhooks/1.0/webhook), filtered by the connection's JQL scope and signed with its secret (Jira 10+); it is removed on disconnect`
        : 'ticketflow registers a webhook through /rest/webhooks/1.0/webhook if these credentials are a Jira administrator\'s (and WEBHOOK_BASE_URL is set); otherwise an administrator sets one up by hand',
      manual: `${method === 'dc_oauth2' ? 'Data Center OAuth 2.0 links cannot manage webhooks' : server?.manual ? `ticketflow could not register a webhook (${server.reason})` : 'these credentials do not register webhooks'}: a Jira administrator creates one (Jira settings → System → WebHooks) with this URL, these events, this JQL filter and the secret from POST /api/v1/connection/${c.key}/jira/webhook-secret${DATA_CENTER_METHODS.includes(method) ? ' (Jira Data Center 10 or later signs deliveries; older versions cannot, and their unsigned deliveries are refused, so the tracker polls instead)' : ''}`,
    };
    return {
      mode,
      detail: details[mode],
      url,
      events: WEBHOOK_EVENTS,
      jql_filter: mode === 'dynamic' ? `project = "${String(all.project_key ?? '')}"` : scope,
      secret_set: typeof all.webhook_secret === 'string',
      registered: server?.id ? { id: server.id, registered_at: server.registered_at ?? '' } : null,
    };
  };
  /** Answers of the routes that call Jira: 409 while the connection is not configured, 502 when Jira fails. */
  const viaJiraProblems = [409, 502];

  return [
    route({
      method: 'patch',
      path: '/api/v1/connection',
      summary: 'Create or update connections (an enabled one gets its tracker, a disabled one stops it)',
      tag: 'connections',
      body: z.array(connectionSchema).min(1).max(50),
      answers: { 200: patchAnswer },
      audit: { temporal: 'start jiraTracker (enabled) / signal stopTracker (disabled)' },
      handler: async ({ body: items, res }) => {
        auditNote(res, { targets: { connection: items.map((c) => c.key) } });
        await orm.em.fork().transactional(async (tx) => {
          for (const c of items) {
            await tx.upsert(Connection, { key: c.key, name: c.name, connectionType: c.connection_type, access: c.access, disabled: c.disabled });
          }
        });
        // Committed first: a tracker that cannot be started now is started by the trackers' next pass.
        await Promise.all(items.map((c) => trackers.follow(c.key, c.disabled)));
        return { body: { succeeded: items, failed: [] } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection',
      summary: 'Connections, secrets masked',
      tag: 'connections',
      answers: { 200: connectionList },
      handler: async () => {
        const all = await orm.em.fork().find(Connection, {}, { orderBy: { key: 'asc' } });
        return { body: { items: await Promise.all(all.map(connectionJson)), total: all.length } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key',
      summary: 'One connection, secrets masked, with its health',
      tag: 'connections',
      params: conn,
      answers: { 200: connectionAnswer },
      handler: async ({ params }) => ({ body: await connectionJson(await loadConnection(orm.em.fork(), params.key)) }),
    }),
    route({
      method: 'delete',
      path: '/api/v1/connection/:key',
      summary: 'Delete a connection: refused (409) while it is enabled and has open tickets; disable it first',
      tag: 'connections',
      params: conn,
      answers: { 200: deleteAnswer },
      problems: [409],
      handler: async ({ params }) => {
        const em = orm.em.fork();
        const c = await loadConnection(em, params.key);
        const open = await openTicketsOf(em, c.key);
        const count = open.privacy_request_tickets + open.anomaly_links;
        if (count && !c.disabled) {
          throw conflict(
            `connection ${c.key} has ${open.privacy_request_tickets} open privacy-request ticket(s) and ${open.anomaly_links} anomaly link(s): disable it first (PATCH /api/v1/connection with "disabled": true), then delete it`,
            { state: 'has_open_tickets', open_tickets: open },
          );
        }
        // The tracker goes first: it must not start a cycle on a connection that no longer exists.
        if (!c.disabled) await trackers.follow(c.key, true);
        await em.transactional(async (tx) => {
          await tx.nativeDelete(JiraTracker, { connectionKey: c.key });
          await tx.nativeDelete(OAuthState, { connectionKey: c.key });
          await tx.nativeDelete(Connection, { key: c.key });
        });
        const outcome = count
          ? `${count} open ticket(s) stay in Jira as they are, and in ticketflow's records; nothing follows them any more (no tracker, no webhooks, no actions). A connection created again with the key ${c.key} takes them up again.`
          : 'The connection had no open tickets.';
        return { body: { deleted: c.key, open_tickets: open, outcome } };
      },
    }),
    route({
      method: 'put',
      path: '/api/v1/connection/:key/secret',
      summary: 'Credentials and ticket settings (merged into what is stored)',
      tag: 'connections',
      params: conn,
      body: secretPatchSchema,
      answers: { 200: secretAnswer },
      problems: [409, 502],
      handler: async ({ params, body: patch }) => {
        const em = orm.em.fork();
        const c = await loadConnection(em, params.key);
        if (patch.domain) {
          const refused = await refuseHost(normaliseBaseUrl(patch.domain), hostPolicy);
          if (refused) throw invalid('body.domain', `body.domain: ${refused}`);
        }
        const stored = secrets.read(c);
        const { oauth1_generate_key: generate, ...rest } = patch;
        if (generate && patch.oauth1_private_key) throw invalid('body.oauth1_generate_key', 'give oauth1_private_key or oauth1_generate_key, not both');
        const all: Record<string, unknown> = { ...stored, ...rest };
        if (generate) {
          // The private key is sealed with the other credentials; the public one is shown, to paste into Jira.
          const pair = generateOAuth1KeyPair();
          all.oauth1_private_key = pair.privateKey;
          all.oauth1_public_key = pair.publicKey;
        } else if (patch.oauth1_private_key) all.oauth1_public_key = publicKeyOf(patch.oauth1_private_key);
        if (all.auth_method === 'scoped_api_token' && typeof all.domain === 'string' && (patch.domain || patch.auth_method || !all.cloud_id)) {
          // Scoped tokens only work through api.atlassian.com, addressed by the site's cloud id.
          all.cloud_id = await kit.connector.resolveCloudId(normaliseBaseUrl(all.domain)).catch((e: Error) => {
            throw invalid('body.domain', `body.domain: could not resolve the site's cloud id (${e.message})`);
          });
        }
        // The ticket settings are checked against Jira when they change (or become complete): nothing is saved
        // that Jira would refuse, and nothing at all while Jira cannot be asked.
        const before = ticketSettings(stored);
        const after = ticketSettings(all);
        if (!('missing' in after)) {
          const completed = 'missing' in before;
          const changed = (keys: readonly string[]) => completed || keys.some((k) => k in patch);
          const jira = changed(FIELD_SETTINGS) || changed(STATUS_SETTINGS) ? kit.connector.client(c, after) : null;
          const credentialField = (AUTHORIZED_METHODS as readonly string[]).includes(after.authMethod) ? '' : 'body.api_key';
          if (jira && changed(FIELD_SETTINGS)) {
            const checked = await askingJira(() => checkTicketFields(jira, after), credentialField);
            all.field_meta = { project_key: after.projectKey, issue_type_id: checked.issueTypeId, fields: checked.fieldMeta };
          }
          if (jira && changed(STATUS_SETTINGS)) {
            await askingJira(() => checkStatusIds(jira, after.projectKey, { done_status_ids: after.doneStatusIds, close_loop: all.close_loop as never }), credentialField);
          }
        }
        // Written over what is stored now: a check above may have refreshed the OAuth tokens meanwhile.
        const changes = Object.fromEntries(Object.entries(all).filter(([k, v]) => stored[k] !== v || k in patch));
        const saved = await mergeSecrets(em, secrets, c.key, changes);
        // Committed first: a Data Center administrator's connection gets its webhook registered (or re-registered
        // for a new scope) by the keep-alive; failing to start it now leaves the tracker's polling in charge.
        if (!('missing' in after) && webhookModeOf(saved) === 'registered' && WEBHOOK_SETTINGS.some((k) => k in patch)) {
          await webhooks.refresh(c.key).catch(() => {});
        }
        return { body: { msg: `Secrets updated for connection ${c.key}.`, connection_key: c.key, secrets: maskSecrets(saved) } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/projects',
      summary: 'Projects the credentials can create issues in',
      tag: 'connections',
      params: conn,
      answers: { 200: z.array(projectAnswer) },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await discovery(params.key);
        return { body: await viaJira(() => jira.projects()) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/projects/:project/issuetypes',
      summary: "A project's issue types (subtasks left out)",
      tag: 'connections',
      params: { key, project: z.string().min(1).max(50) },
      answers: { 200: z.array(issueTypeAnswer) },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await discovery(params.key);
        const projects = await viaJira(() => jira.projects());
        const project = projects.find((p) => p.key === params.project.toUpperCase());
        if (!project) throw notFound('Jira project (with create permission)', params.project);
        return { body: await viaJira(() => jira.issueTypes(project.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/priorities',
      summary: "Jira's priorities, for the connection's default priority",
      tag: 'connections',
      params: conn,
      answers: { 200: z.array(priorityAnswer) },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await discovery(params.key);
        return { body: (await viaJira(() => jira.priorities())).map((p) => ({ id: p.id, name: p.name })) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/projects/:project/statuses',
      summary: "The statuses of each of a project's issue types, across its workflows: the ids a status mapping (done_status_ids) names",
      tag: 'connections',
      params: { key, project: z.string().min(1).max(50) },
      answers: { 200: projectStatusesAnswer },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await client(params.key);
        const types = await viaJira(() => jira.projectStatuses(params.project.toUpperCase()));
        return { body: types.filter((t) => !t.subtask).map((t) => ({ issue_type_id: t.id, issue_type: t.name, statuses: t.statuses })) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/projects/:project/issuetypes/:issueType/fields',
      summary: "The fields Jira asks for when creating such an issue (its create metadata): which are required, and their allowed values",
      tag: 'connections',
      params: { key, project: z.string().min(1).max(50), issueType: z.string().min(1).max(255) },
      answers: { 200: z.array(fieldAnswer) },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await client(params.key);
        const projects = await viaJira(() => jira.projects());
        const project = projects.find((p) => p.key === params.project.toUpperCase());
        if (!project) throw notFound('Jira project (with create permission)', params.project);
        const types = await viaJira(() => jira.issueTypes(project.id));
        const type = types.find((t) => t.id === params.issueType || t.name.toLowerCase() === params.issueType.toLowerCase());
        if (!type) throw notFound(`issue type of ${project.key}`, params.issueType);
        const meta = await viaJira(() => jira.createMeta(project.key, type.id));
        return {
          body: meta.map((f) => ({
            field_id: f.fieldId,
            name: f.name,
            required: f.required,
            has_default_value: f.hasDefaultValue,
            type: f.schema.type,
            items: f.schema.items ?? null,
            custom: f.schema.custom ?? null,
            allowed_values: f.allowedValues ? f.allowedValues.map((v) => ({ id: v.id ?? null, value: v.value ?? v.name ?? v.id ?? '' })) : null,
          })),
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/webhook',
      summary: "How Jira's webhooks reach this connection: registered by ticketflow, or the URL, events and JQL an administrator pastes",
      tag: 'connections',
      params: conn,
      answers: { 200: webhookAnswer },
      handler: async ({ params }) => ({ body: webhookInfo(await loadConnection(orm.em.fork(), params.key)) }),
    }),
    route({
      method: 'post',
      path: '/api/v1/connection/:key/jira/webhook-secret',
      summary: "A new secret for a manual admin webhook, shown once with the URL, events and JQL to paste into Jira (the old secret stops working)",
      tag: 'connections',
      params: conn,
      answers: { 200: webhookAnswer },
      problems: [409],
      handler: async ({ params }) => {
        const em = orm.em.fork();
        const c = await loadConnection(em, params.key);
        const all = secrets.read(c);
        if (webhookModeOf(all) !== 'manual') {
          throw conflict(`connection ${c.key} has its webhooks registered by ticketflow (${webhookModeOf(all)}); a manual webhook would deliver every change twice`, { state: webhookModeOf(all) });
        }
        const secret = randomBytes(32).toString('base64url');
        secrets.write(c, { ...all, webhook_secret: secret });
        await em.flush();
        return { body: { ...webhookInfo(c), secret } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/connection/:key/disconnect',
      summary: 'Disconnect from Jira: remove the webhooks ticketflow registered, revoke the grant where Jira offers it, and forget the tokens (the ticket settings stay)',
      tag: 'connections',
      params: conn,
      answers: { 200: disconnectAnswer },
      handler: async ({ params }) => {
        const done = await disconnect(orm, kit, params.key);
        await webhooks.stop(params.key).catch(() => {});
        return { body: done };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/statuses',
      summary: "Jira's status categories",
      tag: 'connections',
      params: conn,
      answers: { 200: z.array(statusCategoryAnswer) },
      problems: viaJiraProblems,
      handler: async ({ params }) => {
        const { client: jira } = await discovery(params.key);
        return { body: await viaJira(() => jira.statusCategories()) };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/template-variables',
      summary: 'The variables templates may use',
      tag: 'connections',
      params: conn,
      answers: { 200: z.array(variableAnswer) },
      handler: async ({ params }) => {
        await loadConnection(orm.em.fork(), params.key);
        return { body: TEMPLATE_VARIABLES.map((v) => ({ variable: `__${v.name}__`, description: v.description, example: v.example })) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/connection/:key/jira/preview',
      summary: 'Render templates (given or stored) with sample values or a real request, without calling Jira',
      tag: 'connections',
      params: conn,
      body: previewSchema,
      bodyOptional: true,
      answers: { 200: previewAnswer },
      // a read that takes a body: it renders, and changes nothing
      audit: false,
      handler: async ({ params, body }) => {
        const em = orm.em.fork();
        const c = await loadConnection(em, params.key);
        const stored = c.secrets as Record<string, unknown>;
        const settings = {
          summaryTemplate: body.summary_template ?? (stored.summary_template as string | undefined) ?? 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__',
          descriptionTemplate: body.description_template !== undefined ? body.description_template : ((stored.description_template as string | null | undefined) ?? null),
          dueDateConfig: 'due_date_config' in body ? body.due_date_config : (stored.due_date_config as TicketSettings['dueDateConfig']),
          labels: 'labels' in body ? body.labels : (stored.labels as string[] | null | undefined),
          customFields: 'custom_fields' in body ? body.custom_fields : (stored.custom_fields as TicketSettings['customFields']),
        } as TicketSettings;
        let facts = SAMPLE_REQUEST;
        if (body.privacy_request_id) {
          const request = await em.findOne(PrivacyRequest, { id: body.privacy_request_id });
          if (!request) throw notFound('privacy request', body.privacy_request_id);
          facts = { ...request, ...seal.openIdentity(request) };
        }
        const t = renderTicket(settings, facts);
        return { body: { summary: t.summary, description: t.description ?? null, due_date: t.dueDate, labels: t.labels, fields: t.fields, sample_data: !body.privacy_request_id } };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/connection/:key/jira/test-ticket',
      summary: 'Create a real ticket with sample data, to prove the whole path works',
      tag: 'connections',
      params: conn,
      answers: { 201: testTicketAnswer },
      problems: viaJiraProblems,
      handler: async ({ params, res }) => {
        const { settings, client: jira } = await client(params.key);
        const input = issueInputFor(settings, SAMPLE_REQUEST, { label: 'ticketflow-test', summaryPrefix: '[TEST] ' });
        const created = await viaJira(() => jira.createIssue(input));
        auditNote(res, { targets: { ticket: created.key } });
        return { body: { ticket_id: created.id, ticket_key: created.key, ticket_url: created.url, summary: input.summary } };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/connection/:key/jira/test',
      summary: 'Test the connection, with a precise reason on failure',
      tag: 'connections',
      params: conn,
      answers: { 200: checkAnswer },
      problems: [409],
      handler: async ({ params }) => {
        const { settings, client: jira } = await client(params.key);
        return { body: await checkConnection(settings, jira) };
      },
    }),
  ];
}
