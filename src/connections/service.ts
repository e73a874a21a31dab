import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import { Connection } from '../platform/db/entities.js';
import { JiraApiError, JiraUnreachableError } from '../jira/errors.js';
import type { JiraClient } from '../jira/client.js';
import { conflict, invalid, notFound, upstream } from '../platform/errors.js';
import { withJiraFailures } from '../jira/activity-failures.js';
import type { TicketSettings } from './settings.js';
import type { ConnectionKit } from './kit.js';
import type { ConnectionSecrets } from './secrets.js';

export async function loadConnection(em: EntityManager, key: string): Promise<Connection> {
  const c = await em.findOne(Connection, { key });
  if (!c) throw notFound('connection', key);
  return c;
}

/**
 * The connection's ticket settings and a Jira client; a conflict naming the settings still missing, or (with
 * `enabled`, as activities ask) saying that the connection is disabled. With `discovery`, the credentials
 * suffice (reading the projects to choose one from).
 */
export async function connectionClient(
  em: EntityManager,
  kit: ConnectionKit,
  key: string,
  opts: { enabled?: boolean; discovery?: boolean } = {},
): Promise<{ connection: Connection; settings: TicketSettings; client: JiraClient }> {
  const connection = await loadConnection(em, key);
  if (opts.enabled && connection.disabled) throw conflict(`connection ${key} is disabled`, { state: 'disabled' });
  const settings = kit.secrets.settings(connection, { discovery: opts.discovery });
  if ('missing' in settings) {
    throw conflict(`connection ${key} is not configured: set ${settings.missing.join(', ')} with PUT /api/v1/connection/${key}/secret`, {
      state: 'not_configured',
      missing: settings.missing,
    });
  }
  return { connection, settings, client: kit.connector.client(connection, settings) };
}

/** The same for an activity: a missing, disabled or unconfigured connection fails the activity for good. */
export function jiraFor(em: EntityManager, kit: ConnectionKit, key: string) {
  return withJiraFailures(() => connectionClient(em, kit, key, { enabled: true }));
}

/** Jira's refusal or absence, as the API's caller should see it: Jira's status and words, or the field it refused. */
export async function viaJira<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JiraApiError) {
      const fields = Object.keys(err.fieldErrors);
      // Jira refused a field we sent: that is the connection's configuration at fault, so name it.
      if (err.status === 400 && fields.length) {
        throw invalid(`jira.fields.${fields[0]}`, `Jira refused the ticket: ${err.messages.join('; ')}`, {
          errors: fields.map((f) => ({ field: `jira.fields.${f}`, message: err.fieldErrors[f]! })),
        });
      }
      throw upstream(err.message, { jira_status: err.status, jira_messages: err.messages });
    }
    if (err instanceof JiraUnreachableError) throw upstream(err.message, { jira_error: err.code ?? 'unreachable' });
    throw err;
  }
}

export type ConnectionCheck =
  | { status: 'connected'; account: string; project_key: string }
  | { status: 'failed'; reason: string; detail: string };

/** Tells precisely why a connection does not work, in the order a person would fix it. */
export async function checkConnection(settings: TicketSettings, client: JiraClient): Promise<ConnectionCheck> {
  const failed = (reason: string, detail: string): ConnectionCheck => ({ status: 'failed', reason, detail });
  let account: string;
  try {
    const me = await client.myself();
    account = me.displayName ?? me.accountId;
  } catch (err) {
    if (err instanceof JiraApiError) {
      if (err.status === 401) return failed('bad_credentials', `Jira refused the credentials (401): check username and api_key. ${err.messages.join('; ')}`.trim());
      if (err.status === 403) return failed('missing_permission', `the credentials lack permission (403): ${err.messages.join('; ')}`);
      if (err.status === 404) return failed('wrong_url', `${settings.siteUrl} answered 404 for the Jira REST API: is domain the site's root URL (e.g. acme.atlassian.net)?`);
      return failed('jira_error', err.message);
    }
    if (err instanceof JiraUnreachableError) {
      const reasons: Record<string, string> = {
        ENOTFOUND: 'host_not_found',
        EAI_AGAIN: 'host_not_found',
        ETIMEDOUT: 'timeout',
        ECONNREFUSED: 'connection_refused',
        ECONNRESET: 'connection_reset',
        EPROTO: 'wrong_url',
        ERR_SSL_WRONG_VERSION_NUMBER: 'wrong_url',
      };
      return failed(reasons[err.code ?? ''] ?? 'unreachable', err.message);
    }
    throw err;
  }
  const projects = await client.projects().catch(() => null);
  if (projects && !projects.some((p) => p.key === settings.projectKey)) {
    return failed('project_not_found', `project ${settings.projectKey} is not among the projects ${account} can create issues in (${projects.map((p) => p.key).join(', ') || 'none'})`);
  }
  return { status: 'connected', account, project_key: settings.projectKey };
}

/**
 * Changes some of a connection's settings, leaving the others as they are now: the row is locked and read
 * afresh, so that tokens an OAuth refresh committed meanwhile (while the caller was talking to Jira) are never
 * overwritten with the ones it read before. Writing back a stale rotated refresh token would make the next
 * refresh present a retired one, and Atlassian then revokes every token of the grant.
 */
export async function mergeSecrets(em: EntityManager, secrets: ConnectionSecrets, key: string, changes: Record<string, unknown>, remove: readonly string[] = []): Promise<Record<string, unknown>> {
  return (await mergeSecretsIf(em, secrets, key, () => true, changes, remove))!;
}

/**
 * mergeSecrets, only if `still` holds for what is stored, checked under the same row lock; null when it did not
 * hold and nothing was written. For what was made in Jira with credentials read earlier (a registered webhook):
 * a disconnect committed meanwhile has already looked for it, so the caller removes it instead of recording it.
 */
export async function mergeSecretsIf(
  em: EntityManager,
  secrets: ConnectionSecrets,
  key: string,
  still: (stored: Record<string, unknown>) => boolean,
  changes: Record<string, unknown>,
  remove: readonly string[] = [],
): Promise<Record<string, unknown> | null> {
  return em.fork().transactional(async (tx) => {
    const c = await tx.findOneOrFail(Connection, { key }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const stored = secrets.read(c);
    if (!still(stored)) return null;
    const all = { ...stored, ...changes };
    for (const k of remove) delete all[k];
    secrets.write(c, all);
    await tx.flush();
    return all;
  });
}

/** Re-seals credentials stored in clear or under a retired key; run at start, so rotating SECRET_KEYS is just a restart. */
export async function resealConnections(em: EntityManager, secrets: ConnectionSecrets): Promise<number> {
  const all = await em.find(Connection, {});
  const stale = all.filter((c) => secrets.needsResealing(c));
  for (const c of stale) secrets.write(c, secrets.read(c));
  await em.flush();
  return stale.length;
}
