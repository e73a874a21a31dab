import { useState } from 'react';
import { Link } from 'wouter';
import { useQueryClient } from '@tanstack/react-query';
import { $api, api, asProblem, must, type Answer, type Problem } from '../api/client';
import { Badge, ConfirmDialog, CopyValue, Empty, Notice, PageHeader, ProblemBanner, Time, type Tone } from '../components/ui';
import { useAction } from '../components/action';
import { authModeLabel } from './auth-modes';

export type ConnectionItem = Answer<'/api/v1/connection', 'get'>['items'][number];
export type Disconnected = Answer<'/api/v1/connection/{key}/disconnect', 'post'>;
type Webhook = Answer<'/api/v1/connection/{key}/jira/webhook', 'get'>;
type Health = ConnectionItem['health'];

const STATE: Record<Health['state'], { label: string; tone: Tone }> = {
  connected: { label: 'Connected', tone: 'good' },
  needs_reauthorization: { label: 'Needs re-authorization', tone: 'warn' },
  not_configured: { label: 'Not configured', tone: 'neutral' },
  disabled: { label: 'Disabled', tone: 'neutral' },
};

export function StateBadge({ health }: { health: Health }) {
  const s = STATE[health.state];
  return <Badge tone={s.tone}>{s.label}</Badge>;
}

/** Connections with how each is doing: what none of the reference products show on one page. */
export function ConnectionsPage() {
  const list = $api.useQuery('get', '/api/v1/connection', {}, { refetchInterval: 5_000 });
  const items = list.data?.items ?? [];
  // Kept here, not in the row: the row goes with the connection once the list is read again.
  const [deleted, setDeleted] = useState<string | null>(null);
  const [disconnected, setDisconnected] = useState<{ name: string; answer: Disconnected } | null>(null);
  return (
    <>
      <PageHeader title="Connections" subtitle="Jira sites ticketflow opens tickets in, and how each is doing.">
        <Link href="/connections/new" className="button button--primary">
          Add connection
        </Link>
      </PageHeader>
      <ProblemBanner problem={list.error} />
      {deleted && <p role="status">{deleted}</p>}
      {disconnected && <DisconnectOutcome name={disconnected.name} answer={disconnected.answer} />}
      {list.isPending ? (
        <p role="status" className="muted">
          Loading connections…
        </p>
      ) : !items.length ? (
        <Empty title="No connections yet">
          <p>Add one to start opening tickets: name it, authorize with Jira, choose the project and the ticket's templates, and create a test ticket.</p>
          <Link href="/connections/new" className="button button--primary">
            Add connection
          </Link>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table table--responsive">
            <caption className="visually-hidden">Connections and their health</caption>
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">State</th>
                <th scope="col">Auth</th>
                <th scope="col">Project</th>
                <th scope="col">Tracker</th>
                <th scope="col">Webhooks</th>
                <th scope="col">Jira quota</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <ConnectionRow key={c.key} c={c} onDeleted={(outcome) => setDeleted(`Deleted ${c.name}. ${outcome}`)} onDisconnected={(answer) => setDisconnected({ name: c.name, answer })} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ConnectionRow({ c, onDeleted, onDisconnected }: { c: ConnectionItem; onDeleted: (outcome: string) => void; onDisconnected: (answer: Disconnected) => void }) {
  const h = c.health;
  const queries = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const refresh = () => queries.invalidateQueries();
  const setDisabled = async (disabled: boolean) => {
    setBusy(true);
    setProblem(null);
    try {
      await must(api.PATCH('/api/v1/connection', { body: [{ key: c.key, name: c.name, connection_type: 'jira_ticket', access: c.access as 'read' | 'write', disabled }] }));
      await refresh();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const answer = await must(api.DELETE('/api/v1/connection/{key}', { params: { path: { key: c.key } } }));
      setConfirming(false);
      onDeleted(answer.outcome);
      await refresh();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const open = h.open_tickets.privacy_request_tickets + h.open_tickets.anomaly_links;
  return (
    <>
      <tr>
        <td data-label="Connection">
          <Link href={`/connections/${encodeURIComponent(c.key)}`} className="strong">
            {c.name}
          </Link>
          <div className="muted small">
            <code>{c.key}</code>
          </div>
        </td>
        <td data-label="State">
          <StateBadge health={h} />
          {h.reason && h.state !== 'disabled' && <div className="muted small">{h.reason}</div>}
        </td>
        <td data-label="Auth">{authModeLabel(h.auth_method)}</td>
        <td data-label="Project">
          {h.project_key ?? <span className="muted">—</span>}
          {h.issue_type && <div className="muted small">{h.issue_type}</div>}
        </td>
        <td data-label="Tracker">
          {h.tracker ? (
            <>
              <div>
                cycle {h.tracker.cycle}, <Time value={h.tracker.last_cycle_at} />
              </div>
              <div className="muted small">
                {h.tracker.tracked} tracked · {h.tracker.calls} calls · next <Time value={h.tracker.next_cycle_at} />
              </div>
              {h.tracker.last_error && <div className="error small">{h.tracker.last_error}</div>}
            </>
          ) : (
            <span className="muted">no cycle yet</span>
          )}
        </td>
        <td data-label="Webhooks">
          {h.webhooks.kind === 'none' ? (
            <span className="muted">none: polled</span>
          ) : (
            <>
              <Badge tone={h.webhooks.active ? 'good' : 'warn'}>{h.webhooks.kind === 'admin' ? 'Admin webhook' : h.webhooks.active ? 'Dynamic' : 'Dynamic, expired'}</Badge>
              {h.webhooks.expires_at && (
                <div className="muted small">
                  expires <Time value={h.webhooks.expires_at} />
                </div>
              )}
            </>
          )}
        </td>
        <td data-label="Jira quota">
          {h.quota ? (
            <>
              <meter min={0} max={h.quota.points_per_hour} value={h.quota.points_used} aria-label="Points used this hour" />
              <div className="small">
                {h.quota.points_used.toLocaleString('en')} of {h.quota.points_per_hour.toLocaleString('en')} points this hour
              </div>
            </>
          ) : (
            <span className="muted">no points (not OAuth)</span>
          )}
        </td>
        <td data-label="Actions" className="actions">
          <Link href={`/connections/${encodeURIComponent(c.key)}`} className="button button--small">
            Edit<span className="visually-hidden"> {c.name}</span>
          </Link>
          <button type="button" className="button button--small" disabled={busy} onClick={() => setDisabled(!c.disabled)}>
            {c.disabled ? 'Enable' : 'Disable'}
            <span className="visually-hidden"> {c.name}</span>
          </button>
          {hasCredentials(c) && <DisconnectButton connectionKey={c.key} name={c.name} small onDone={onDisconnected} />}
          <button type="button" className="button button--small button--danger" disabled={busy} onClick={() => setConfirming(true)} aria-expanded={confirming}>
            Delete<span className="visually-hidden"> {c.name}</span>
          </button>
        </td>
      </tr>
      {(confirming || problem) && (
        <tr className="row-detail">
          <td colSpan={8}>
            <div className="confirm" role="group" aria-label={`Delete ${c.name}`}>
              <p>
                Delete <strong>{c.name}</strong>?{' '}
                {open
                  ? `It has ${h.open_tickets.privacy_request_tickets} open privacy-request ticket(s) and ${h.open_tickets.anomaly_links} anomaly link(s): ${c.disabled ? 'they stay in Jira, and nothing follows them any more.' : 'disable it first.'}`
                  : 'It has no open tickets.'}
              </p>
              <ProblemBanner problem={problem} />
              <button type="button" className="button button--danger" disabled={busy} onClick={remove}>
                Delete {c.name}
              </button>{' '}
              <button type="button" className="button" onClick={() => (setConfirming(false), setProblem(null))}>
                Cancel
              </button>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}

/** Whether anything is left to disconnect: credentials or tokens stored (the API masks them, but says they are there). */
export function hasCredentials(c: { secrets: Record<string, unknown> }): boolean {
  const s = c.secrets;
  return ['api_key', 'access_token', 'refresh_token', 'oauth1_access_token', 'username'].some((k) => !!s[k]);
}

/**
 * Disconnect (POST …/disconnect), after a confirmation: the API removes the webhooks it registered, revokes
 * the grant where Jira offers it and forgets the credentials; the ticket settings stay.
 */
export function DisconnectButton({ connectionKey, name, small, onDone }: { connectionKey: string; name: string; small?: boolean; onDone: (answer: Disconnected) => void }) {
  const [asking, setAsking] = useState(false);
  const { busy, problem, run, clear } = useAction();
  const go = () =>
    run(async () => {
      const answer = await must(api.POST('/api/v1/connection/{key}/disconnect', { params: { path: { key: connectionKey } } }));
      setAsking(false);
      onDone(answer);
    });
  return (
    <>
      <button type="button" className={`button button--danger${small ? ' button--small' : ''}`} onClick={() => setAsking(true)} aria-haspopup="dialog">
        Disconnect<span className="visually-hidden"> {name}</span>
      </button>
      {asking && (
        <ConfirmDialog title={`Disconnect ${name} from Jira?`} confirm={busy ? 'Disconnecting…' : `Disconnect ${name}`} busy={busy} onConfirm={go} onCancel={() => (setAsking(false), clear())}>
          <p>
            ticketflow removes the webhooks it registered, revokes its grant where Jira offers that, and forgets the credentials and tokens. The project,
            templates and status mapping stay, so connecting again is one authorization away. Until then nothing reaches Jira through this connection.
          </p>
          <ProblemBanner problem={problem} />
        </ConfirmDialog>
      )}
    </>
  );
}

const REVOCATION: Record<Disconnected['revocation'], string> = {
  revoked: 'Jira withdrew the grant.',
  not_offered: 'This Jira has no way to revoke the grant from here (see below).',
  nothing_to_revoke: 'There was no grant to revoke.',
  failed: 'Revoking the grant failed (see below).',
};

/** What a disconnect did, and what a person still does in Jira. */
export function DisconnectOutcome({ name, answer }: { name: string; answer: Disconnected }) {
  return (
    <Notice tone={answer.webhooks_left.length || answer.manual_steps.length ? 'warning' : 'success'} title={`Disconnected ${name}`}>
      <ul className="outcome">
        <li>Forgotten: {answer.forgotten.length ? answer.forgotten.join(', ') : 'nothing was stored'}.</li>
        <li>Webhooks removed: {answer.webhooks_removed.length ? answer.webhooks_removed.join(', ') : 'none'}.</li>
        {answer.webhooks_left.map((w) => (
          <li key={w.id}>
            Webhook {w.id} left in Jira: {w.reason}
          </li>
        ))}
        <li>{REVOCATION[answer.revocation]}</li>
      </ul>
      {answer.manual_steps.length > 0 && (
        <>
          <p className="strong">Still to do in Jira:</p>
          <ol className="outcome">
            {answer.manual_steps.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ol>
        </>
      )}
    </Notice>
  );
}

const WEBHOOK_MODE: Record<Webhook['mode'], string> = { dynamic: 'Dynamic (registered by ticketflow)', registered: 'Registered by ticketflow', manual: 'Manual (an administrator sets it up)' };

/** How Jira's webhooks reach the connection (GET …/jira/webhook), and a new secret for a manual one, shown once. */
export function WebhookPanel({ connectionKey }: { connectionKey: string }) {
  const info = $api.useQuery('get', '/api/v1/connection/{key}/jira/webhook', { params: { path: { key: connectionKey } } });
  const [minted, setMinted] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const { busy, problem, run, clear } = useAction({ queryKey: ['get', '/api/v1/connection/{key}/jira/webhook'] });
  const w = info.data;
  const mint = () =>
    run(async () => {
      const answer = await must(api.POST('/api/v1/connection/{key}/jira/webhook-secret', { params: { path: { key: connectionKey } } }));
      setMinted(answer.secret ?? null);
      setAsking(false);
    });
  return (
    <section className="card" aria-labelledby="webhook-title">
      <h2 id="webhook-title">Jira webhooks</h2>
      <ProblemBanner problem={info.error} />
      {!w ? (
        !info.error && (
          <p role="status" className="muted">
            Loading…
          </p>
        )
      ) : (
        <>
          <p>
            <Badge tone={w.mode === 'manual' ? (w.secret_set ? 'info' : 'warn') : 'good'}>{WEBHOOK_MODE[w.mode]}</Badge>
          </p>
          <p className="small">{w.detail}</p>
          <dl className="facts">
            <div>
              <dt>Events</dt>
              <dd>{w.events.join(', ')}</dd>
            </div>
            {w.registered && (
              <div>
                <dt>Registered</dt>
                <dd>
                  webhook {w.registered.id}, <Time value={w.registered.registered_at} />
                </dd>
              </div>
            )}
            {w.mode === 'manual' && (
              <div>
                <dt>Secret</dt>
                <dd>{w.secret_set ? 'set (never shown again)' : 'none yet'}</dd>
              </div>
            )}
          </dl>
          <CopyValue label="Webhook URL" value={w.url} />
          <CopyValue label="JQL filter" value={w.jql_filter} />
          {w.mode === 'manual' && (
            <>
              {minted && (
                <div className="banner banner--warning" role="status">
                  <strong>The new secret, shown this once</strong>
                  <p>Paste it as the webhook's secret in Jira now; the previous one no longer works.</p>
                  <CopyValue label="Webhook secret" value={minted} />
                </div>
              )}
              <div className="form-actions">
                <button type="button" className="button" onClick={() => setAsking(true)} aria-haspopup="dialog">
                  Make a new secret
                </button>
              </div>
              {asking && (
                <ConfirmDialog title="Make a new webhook secret?" confirm={busy ? 'Making…' : 'Make a new secret'} busy={busy} danger={false} onConfirm={mint} onCancel={() => (setAsking(false), clear())}>
                  <p>The secret is shown once. Deliveries signed with the old one are refused from now on, until the new one is pasted into Jira's webhook.</p>
                  <ProblemBanner problem={problem} />
                </ConfirmDialog>
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}
