import { useEffect, useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { useQueryClient } from '@tanstack/react-query';
import { $api, api, asProblem, fieldError, must, type Answer, type Problem } from '../api/client';
import { useSession } from '../session';
import { Badge, Empty, externalLink, Field, NeedsScope, Notice, PageHeader, ProblemBanner, Time } from '../components/ui';
import { FindById } from './privacy-request';
import { useAction } from '../components/action';

type Anomaly = Answer<'/api/anomalies/{anomaly_id}', 'get'>;
type Link = Answer<'/api/anomalies/{anomaly_id}/ticket-links', 'get'>[number];

const POLL_MS = 2_000;

export function AnomalyPage({ anomalyId }: { anomalyId?: string }) {
  const [, navigate] = useLocation();
  return (
    <>
      <PageHeader title="Anomalies" subtitle="An anomaly's linked Jira tickets: create one, link an existing one, unlink." />
      <FindById key={anomalyId} label="Anomaly id" placeholder="e.g. 42" initial={anomalyId} onFind={(id) => navigate(`/anomalies/${encodeURIComponent(id)}`)} />
      {anomalyId ? (
        <AnomalyDetail anomalyId={anomalyId} />
      ) : (
        <Empty title="Open an anomaly by its id">
          <p>The id the data-quality tool gave it (PUT /api/anomalies/{'{id}'} records one).</p>
        </Empty>
      )}
    </>
  );
}

function AnomalyDetail({ anomalyId }: { anomalyId: string }) {
  const a = $api.useQuery('get', '/api/anomalies/{anomaly_id}', { params: { path: { anomaly_id: anomalyId } } });
  const links = $api.useQuery('get', '/api/anomalies/{anomaly_id}/ticket-links', { params: { path: { anomaly_id: anomalyId } } }, { refetchInterval: POLL_MS });
  const { can } = useSession();
  const [connection, setConnection] = useState('');
  useEffect(() => setConnection(a.data?.connection_key ?? ''), [a.data?.connection_key]);
  if (a.error) return <ProblemBanner problem={a.error} />;
  if (!a.data)
    return (
      <p role="status" className="muted">
        Loading…
      </p>
    );
  const anomaly = a.data;
  return (
    <>
      <section className="card" aria-labelledby="anomaly-title">
        <h2 id="anomaly-title">
          Anomaly <code>{String(anomaly.id)}</code> <Badge tone="neutral">{anomaly.type}</Badge> <Badge tone={anomaly.status === 'Active' ? 'warn' : 'neutral'}>{anomaly.status}</Badge>
        </h2>
        <dl className="facts">
          <div>
            <dt>Detected</dt>
            <dd>
              <Time value={anomaly.detected_at} />
            </dd>
          </div>
          <div>
            <dt>Datastore</dt>
            <dd>{anomaly.datastore_id ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>Failed checks</dt>
            <dd>{anomaly.failed_checks.length ? anomaly.failed_checks.join(', ') : <span className="muted">none</span>}</dd>
          </div>
          {anomaly.url && (
            <div>
              <dt>In the data-quality tool</dt>
              <dd>
                <a href={anomaly.url} {...externalLink}>
                  open the anomaly
                </a>
              </dd>
            </div>
          )}
        </dl>
        <ConnectionChoice anomaly={anomaly} value={connection} onChange={setConnection} />
      </section>
      <section aria-labelledby="links-title">
        <h2 id="links-title">Linked tickets</h2>
        <ProblemBanner problem={links.error} />
        {links.data && !links.data.length ? (
          <Empty title="No linked tickets">
            <p>Create a ticket for this anomaly, or link one that exists.</p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table table--responsive">
              <caption className="visually-hidden">Tickets linked to anomaly {String(anomaly.id)}</caption>
              <thead>
                <tr>
                  <th scope="col">Ticket</th>
                  <th scope="col">Status</th>
                  <th scope="col">Assignee</th>
                  <th scope="col">Last sync</th>
                  <th scope="col">Origin</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>{links.data?.map((l) => <LinkRow key={l.link_id} anomalyId={anomalyId} l={l} />)}</tbody>
            </table>
          </div>
        )}
      </section>
      {can('write') ? (
        <div className="grid-2 grid-2--top">
          <NewTicket anomalyId={anomalyId} connection={connection} />
          <LinkExisting anomalyId={anomalyId} connection={connection} linked={new Set(links.data?.map((l) => l.ticket_key))} />
        </div>
      ) : (
        <p>
          <NeedsScope scope="write" /> to create, link or unlink tickets.
        </p>
      )}
    </>
  );
}

/** Which connection the anomaly's tickets go to: its own, or one chosen here (the only enabled one by default). */
function ConnectionChoice({ anomaly, value, onChange }: { anomaly: Anomaly; value: string; onChange: (v: string) => void }) {
  const { can } = useSession();
  const list = $api.useQuery('get', '/api/v1/connection', {}, { enabled: can('admin') && !anomaly.connection_key });
  if (anomaly.connection_key)
    return (
      <p className="muted small">
        Tickets go to connection <code>{anomaly.connection_key}</code>.
      </p>
    );
  return (
    <Field label="Connection" optional hint="Where new and linked tickets are; empty: the only enabled one">
      {(a11y) =>
        list.data ? (
          <select {...a11y} value={value} onChange={(e) => onChange(e.target.value)}>
            <option value="">The only enabled connection</option>
            {list.data.items
              .filter((c) => !c.disabled)
              .map((c) => (
                <option key={c.key} value={c.key}>
                  {c.name} ({c.key})
                </option>
              ))}
          </select>
        ) : (
          <input {...a11y} type="text" value={value} onChange={(e) => onChange(e.target.value)} placeholder="connection key" />
        )
      }
    </Field>
  );
}

function LinkRow({ anomalyId, l }: { anomalyId: string; l: Link }) {
  const { can } = useSession();
  const { busy, problem, run } = useAction();
  const unlink = () => run(async () => void (await must(api.DELETE('/api/anomalies/{anomaly_id}/ticket-links/{link_id}', { params: { path: { anomaly_id: anomalyId, link_id: l.link_id } } }))));
  return (
    <>
      <tr>
        <td data-label="Ticket">
          <span className="strong">{l.ticket_key}</span>
          {l.last_error && <div className="error small">{l.last_error}</div>}
        </td>
        <td data-label="Status">{l.status ? <Badge tone={l.status_category === 'done' ? 'good' : l.status_category === 'indeterminate' ? 'info' : 'neutral'}>{l.status}</Badge> : <span className="muted">—</span>}</td>
        <td data-label="Assignee">{l.assignee ?? <span className="muted">—</span>}</td>
        <td data-label="Last sync">
          <Time value={l.last_synced_at} empty="not yet" />
        </td>
        <td data-label="Origin">{l.origin === 'created' ? 'created here' : 'linked'}</td>
        <td data-label="Actions" className="actions">
          {l.url && (
            <a href={l.url} {...externalLink} className="button button--small">
              View in Jira<span className="visually-hidden"> {l.ticket_key}</span>
            </a>
          )}
          {l.state === 'unlinking' ? (
            <span className="muted small" role="status">
              unlinking…
            </span>
          ) : (
            <button type="button" className="button button--small button--danger" disabled={!can('write') || busy} onClick={unlink}>
              Unlink<span className="visually-hidden"> {l.ticket_key}</span>
            </button>
          )}
        </td>
      </tr>
      {problem && (
        <tr className="row-detail">
          <td colSpan={6}>
            <ProblemBanner problem={problem} />
          </td>
        </tr>
      )}
    </>
  );
}

function NewTicket({ anomalyId, connection }: { anomalyId: string; connection: string }) {
  const queries = useQueryClient();
  const form = $api.useQuery('get', '/api/integrations/ticketing/form-specification', { params: { query: connection ? { connection_key: connection } : {} } }, { staleTime: 60_000 });
  const priorities = form.data?.fields.find((f) => f.name === 'priority')?.options ?? [];
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [created, setCreated] = useState<Answer<'/api/integrations/ticketing/anomalies/{anomaly_id}/tickets', 'post', 201> | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    setCreated(null);
    try {
      const answer = await must(
        api.POST('/api/integrations/ticketing/anomalies/{anomaly_id}/tickets', {
          params: { path: { anomaly_id: anomalyId } },
          body: { title, description: description || null, priority: priority || null, ...(connection ? { connection_key: connection } : {}) },
        }),
      );
      setCreated(answer);
      setTitle('');
      setDescription('');
      await queries.invalidateQueries();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const named = ['body.title', 'body.description', 'body.priority'].some((f) => fieldError(problem, f));
  return (
    <section className="card" aria-labelledby="new-ticket-title">
      <h2 id="new-ticket-title">New ticket</h2>
      <form onSubmit={submit} noValidate>
        <Field label="Title" error={fieldError(problem, 'body.title')}>
          {(a11y) => <input {...a11y} type="text" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={255} />}
        </Field>
        <Field label="Description" optional error={fieldError(problem, 'body.description')}>
          {(a11y) => <textarea {...a11y} rows={4} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <Field label="Priority" optional error={fieldError(problem, 'body.priority') ?? (form.error ? form.error.detail : undefined)}>
          {(a11y) => (
            <select {...a11y} value={priority} onChange={(e) => setPriority(e.target.value)}>
              <option value="">Jira's default</option>
              {priorities.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {!named && <ProblemBanner problem={problem} />}
        {created && (
          <Notice tone="success" title={`Created ${created.ticket.ticket_number}`}>
            <a href={created.ticket.url} {...externalLink}>
              View {created.ticket.ticket_number} in Jira
            </a>
          </Notice>
        )}
        <button type="submit" className="button button--primary" disabled={busy || !title.trim()}>
          {busy ? 'Creating…' : 'Create and link'}
        </button>
      </form>
    </section>
  );
}

function LinkExisting({ anomalyId, connection, linked }: { anomalyId: string; connection: string; linked: Set<string> }) {
  const queries = useQueryClient();
  const [query, setQuery] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebounced(query.trim()), 250);
    return () => clearTimeout(t);
  }, [query]);
  const results = $api.useQuery(
    'get',
    '/api/integrations/ticketing/tickets/search',
    { params: { query: { query: debounced, size: 10, ...(connection ? { connection_key: connection } : {}) } } },
    { enabled: debounced.length >= 2 },
  );
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const link = async (ticketKey: string) => {
    setBusy(ticketKey);
    setProblem(null);
    setDone(null);
    try {
      await must(api.POST('/api/anomalies/{anomaly_id}/ticket-links', { params: { path: { anomaly_id: anomalyId } }, body: { ticket_key: ticketKey, ...(connection ? { connection_key: connection } : {}) } }));
      setDone(`Linked ${ticketKey}.`);
      await queries.invalidateQueries();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(null);
    }
  };
  const items = results.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="link-existing-title">
      <h2 id="link-existing-title">Link existing</h2>
      <Field label="Search tickets" hint="A key such as PRIV-12, or words of its summary" error={results.error ? results.error.detail : undefined}>
        {(a11y) => <input {...a11y} type="search" value={query} onChange={(e) => setQuery(e.target.value)} aria-controls="search-results" />}
      </Field>
      <div aria-live="polite" className="muted small">
        {debounced.length >= 2 && results.data ? `${results.data.total} ticket(s) match “${debounced}”` : debounced.length >= 2 && results.isFetching ? 'Searching…' : 'Type at least two characters'}
      </div>
      <ul id="search-results" className="results">
        {items.map((t) => (
          <li key={t.ticket_id} className="results__item">
            <div>
              <span className="strong">{t.ticket_number}</span> {t.title} <Badge tone="neutral">{t.status}</Badge>
            </div>
            <button type="button" className="button button--small" disabled={linked.has(t.ticket_number) || !!busy} onClick={() => link(t.ticket_number)}>
              {linked.has(t.ticket_number) ? 'Linked' : busy === t.ticket_number ? 'Linking…' : 'Link'}
              <span className="visually-hidden"> {t.ticket_number}</span>
            </button>
          </li>
        ))}
      </ul>
      <ProblemBanner problem={problem} />
      {done && <Notice tone="success">{done}</Notice>}
    </section>
  );
}
