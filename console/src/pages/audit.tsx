import { useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { $api, type Answer } from '../api/client';
import { Badge, Empty, Field, PageHeader, ProblemBanner, Time, type Tone } from '../components/ui';

type Entry = Answer<'/api/v1/audit', 'get'>['items'][number];

const PAGE = 50;
const ACTOR: Record<Entry['actor'], string> = {
  api_token: 'API token',
  jira_webhook: 'Jira webhook',
  oauth_redirect: 'OAuth redirect',
  temporal_console: 'Temporal UI',
  cli: 'Command line',
  anonymous: 'Anonymous',
};
const statusTone = (s: number | null): Tone => (s === null ? 'neutral' : s < 300 ? 'good' : s < 400 ? 'info' : s < 500 ? 'warn' : 'bad');

/** A day picked in the form (the reader's time zone) as the API's instant: its start, or the start of the next day. */
const dayStart = (day: string, next = false) => {
  const d = new Date(`${day}T00:00:00`);
  if (next) d.setDate(d.getDate() + 1);
  return d.toISOString();
};

/** Where a target id leads in the console, if anywhere. */
function targetHref(kind: string, id: string): string | null {
  if (kind === 'privacy_request') return `/requests/${encodeURIComponent(id)}`;
  if (kind === 'connection') return `/connections/${encodeURIComponent(id)}`;
  if (kind === 'anomaly') return `/anomalies/${encodeURIComponent(id)}`;
  return null;
}

/**
 * The audit log (GET /api/v1/audit): who did what to which ids, and what came of it, oldest first. The filter
 * is in the address (?target=…&since=…&until=…), so the request and connection pages link to their own audit.
 */
export function AuditPage() {
  const [, navigate] = useLocation();
  const search = new URLSearchParams(useSearch());
  const filter = { target: search.get('target') ?? '', since: search.get('since') ?? '', until: search.get('until') ?? '' };
  const apply = (f: typeof filter) => {
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v.trim()) as Array<[string, string]>);
    navigate(`/audit${q.size ? `?${q}` : ''}`);
  };
  return (
    <>
      <PageHeader title="Audit" subtitle="Who did what to which ids, through the API, the Temporal UI, Jira's webhooks or the command line, and the outcome. Oldest first." />
      <AuditFilter key={JSON.stringify(filter)} initial={filter} onApply={apply} />
      <AuditEntries key={`entries-${JSON.stringify(filter)}`} filter={filter} />
    </>
  );
}

function AuditFilter({ initial, onApply }: { initial: { target: string; since: string; until: string }; onApply: (f: { target: string; since: string; until: string }) => void }) {
  const [f, setF] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(f);
  };
  return (
    <form className="find audit-filter" role="search" aria-label="Filter the audit log" onSubmit={submit}>
      <Field label="Target id" optional hint="A privacy request id, connection key, anomaly id, ticket key or workflow id">
        {(a11y) => <input {...a11y} type="search" value={f.target} onChange={(e) => setF({ ...f, target: e.target.value })} placeholder="pri_… or a connection key" />}
      </Field>
      <Field label="From" optional hint="This day on, your time zone">
        {(a11y) => <input {...a11y} type="date" value={f.since} onChange={(e) => setF({ ...f, since: e.target.value })} />}
      </Field>
      <Field label="To" optional hint="Up to the end of this day">
        {(a11y) => <input {...a11y} type="date" value={f.until} onChange={(e) => setF({ ...f, until: e.target.value })} />}
      </Field>
      <div className="form-actions">
        <button type="submit" className="button button--primary">
          Show
        </button>
        {(initial.target || initial.since || initial.until) && (
          <button type="button" className="button button--ghost" onClick={() => onApply({ target: '', since: '', until: '' })}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}

function AuditEntries({ filter }: { filter: { target: string; since: string; until: string } }) {
  const query = {
    limit: PAGE,
    ...(filter.target.trim() ? { target: filter.target.trim() } : {}),
    ...(filter.since ? { since: dayStart(filter.since) } : {}),
    ...(filter.until ? { until: dayStart(filter.until, true) } : {}),
  };
  const pages = $api.useInfiniteQuery(
    'get',
    '/api/v1/audit',
    { params: { query } },
    {
      // The API's cursor is the last id seen; 0 starts from the oldest entry.
      initialPageParam: '0',
      getNextPageParam: (last) => last.next_cursor ?? undefined,
    },
  );
  const items = pages.data?.pages.flatMap((p) => p.items) ?? [];
  if (pages.error) return <ProblemBanner problem={pages.error} />;
  if (pages.isPending)
    return (
      <p role="status" className="muted">
        Loading the audit log…
      </p>
    );
  if (!items.length)
    return (
      <Empty title="No entries">
        <p>{filter.target || filter.since || filter.until ? 'Nothing matches this filter: try another id or a wider range of days.' : 'Nothing has been recorded yet.'}</p>
      </Empty>
    );
  return (
    <>
      <div className="table-wrap">
        <table className="table table--responsive audit">
          <caption className="visually-hidden">Audit entries, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Targets</th>
              <th scope="col">Status</th>
              <th scope="col">Temporal</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id}>
                <td data-label="Time">
                  <Time value={e.at} />
                  <div className="muted small">{e.at.replace('T', ' ').slice(0, 19)} UTC</div>
                </td>
                <td data-label="Who">
                  {e.token_name ?? ACTOR[e.actor]}
                  {e.token_name && <div className="muted small">{ACTOR[e.actor]}</div>}
                </td>
                <td data-label="Action">
                  <code>{e.route}</code>
                </td>
                <td data-label="Targets">
                  <ul className="targets">
                    {Object.entries(e.targets).map(([kind, ids]) => (
                      <li key={kind}>
                        <span className="muted small">{kind.replace(/_/g, ' ')}</span>{' '}
                        {(Array.isArray(ids) ? ids : [ids]).map((id, i) => {
                          const href = targetHref(kind, id);
                          return (
                            <span key={id}>
                              {i > 0 && ', '}
                              {href ? <Link href={href}>{id}</Link> : <code>{id}</code>}
                            </span>
                          );
                        })}
                      </li>
                    ))}
                  </ul>
                </td>
                <td data-label="Status">{e.status === null ? <span className="muted">—</span> : <Badge tone={statusTone(e.status)}>{e.status}</Badge>}</td>
                <td data-label="Temporal">{e.temporal ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="form-actions" aria-live="polite">
        <span className="muted small">
          {items.length} entr{items.length === 1 ? 'y' : 'ies'}
          {pages.hasNextPage ? '; there are more' : ', the last one is the newest'}
        </span>
        {pages.hasNextPage && (
          <button type="button" className="button" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
            {pages.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
    </>
  );
}
