import { useState } from 'react';
import { Link } from 'wouter';
import { useQueryClient } from '@tanstack/react-query';
import { $api, api, asProblem, must, type Answer, type Problem } from '../api/client';
import { Badge, Empty, PageHeader, ProblemBanner, Time, type Tone } from '../components/ui';
import { authModeLabel } from './auth-modes';

export type ConnectionItem = Answer<'/api/v1/connection', 'get'>['items'][number];
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
  return (
    <>
      <PageHeader title="Connections" subtitle="Jira sites ticketflow opens tickets in, and how each is doing.">
        <Link href="/connections/new" className="button button--primary">
          Add connection
        </Link>
      </PageHeader>
      <ProblemBanner problem={list.error} />
      {deleted && <p role="status">{deleted}</p>}
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
                <ConnectionRow key={c.key} c={c} onDeleted={(outcome) => setDeleted(`Deleted ${c.name}. ${outcome}`)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ConnectionRow({ c, onDeleted }: { c: ConnectionItem; onDeleted: (outcome: string) => void }) {
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
