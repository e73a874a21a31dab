import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { useQueryClient } from '@tanstack/react-query';
import { $api, api, asProblem, fieldError, must, type Answer, type Problem } from '../api/client';
import { useSession } from '../session';
import { Badge, ConfirmDialog, Empty, externalLink, Field, NeedsScope, Notice, PageHeader, ProblemBanner, Time, type Tone } from '../components/ui';
import { useAction } from '../components/action';

type Request = Answer<'/api/v1/privacy-request/{id}', 'get'>;
type Erasure = Answer<'/api/v1/privacy-request/{id}/personal-data', 'delete'>;
type Instance = Request['jira_tickets'][number];

const FINISHED = new Set(['completed', 'canceled']);
const TASK: Record<Instance['task_state'], { label: string; tone: Tone }> = {
  creating: { label: 'Creating the ticket', tone: 'info' },
  creation_failed: { label: 'Creation failed', tone: 'bad' },
  open: { label: 'Open', tone: 'info' },
  waiting_for_data: { label: 'Waiting for data', tone: 'warn' },
  completed: { label: 'Completed', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
  canceled: { label: 'Canceled', tone: 'neutral' },
};
const CATEGORY: Record<string, Tone> = { new: 'neutral', indeterminate: 'info', done: 'good', deleted: 'bad' };
/** States change in the workflows; the page asks again this often while it is open (no reload, no token in a URL). */
const POLL_MS = 2_000;

export function FindById({ label, placeholder, onFind, initial = '' }: { label: string; placeholder: string; onFind: (id: string) => void; initial?: string }) {
  const [id, setId] = useState(initial);
  return (
    <form
      className="find"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (id.trim()) onFind(id.trim());
      }}
    >
      <Field label={label}>{(a11y) => <input {...a11y} type="search" value={id} onChange={(e) => setId(e.target.value)} placeholder={placeholder} />}</Field>
      <button type="submit" className="button button--primary" disabled={!id.trim()}>
        Open
      </button>
    </form>
  );
}

export function PrivacyRequestPage({ requestId }: { requestId?: string }) {
  const [, navigate] = useLocation();
  return (
    <>
      <PageHeader title="Privacy requests" subtitle="A request's Jira tickets, as its workflows see them, and what can be done about each." />
      <FindById key={requestId} label="Privacy request id" placeholder="pri_…" initial={requestId} onFind={(id) => navigate(`/requests/${encodeURIComponent(id)}`)} />
      {requestId ? (
        <RequestDetail requestId={requestId} />
      ) : (
        <Empty title="Open a request by its id">
          <p>The id the upstream privacy system gave it, such as pri_demo_1 (npm start approves one).</p>
        </Empty>
      )}
    </>
  );
}

function RequestDetail({ requestId }: { requestId: string }) {
  const r = $api.useQuery('get', '/api/v1/privacy-request/{id}', { params: { path: { id: requestId } } }, { refetchInterval: POLL_MS });
  if (r.error) return <ProblemBanner problem={r.error} />;
  if (!r.data)
    return (
      <p role="status" className="muted">
        Loading…
      </p>
    );
  const req = r.data;
  return (
    <>
      <section className="card" aria-labelledby="request-title">
        <h2 id="request-title">
          <code>{req.id}</code> <Badge tone="neutral">{req.request_type}</Badge> <Badge tone={req.status === 'complete' ? 'good' : req.status === 'approved' ? 'info' : 'neutral'}>{req.status}</Badge>
        </h2>
        <dl className="facts">
          <div>
            <dt>Submitted</dt>
            <dd>
              <Time value={req.submitted_at} />
            </dd>
          </div>
          <div>
            <dt>Approved</dt>
            <dd>
              <Time value={req.approved_at} />
            </dd>
          </div>
          <div>
            <dt>Due</dt>
            <dd>
              <Time value={req.due_date} />
            </dd>
          </div>
          <div>
            <dt>Policy</dt>
            <dd>{req.policy_name ?? <span className="muted">—</span>}</dd>
          </div>
          <div>
            <dt>Manual tasks done</dt>
            <dd>
              <Time value={req.manual_tasks_completed_at} empty="not yet" />
            </dd>
          </div>
          {req.personal_data_erased_at && (
            <div>
              <dt>Personal data erased</dt>
              <dd data-testid="erased-at">
                <Time value={req.personal_data_erased_at} />
              </dd>
            </div>
          )}
          {req.request_url && (
            <div>
              <dt>In the privacy system</dt>
              <dd>
                <a href={req.request_url} {...externalLink}>
                  open the request
                </a>
              </dd>
            </div>
          )}
        </dl>
        <Erase requestId={req.id} erasedAt={req.personal_data_erased_at} />
      </section>
      <section aria-labelledby="tickets-title">
        <h2 id="tickets-title">Jira tickets</h2>
        {!req.jira_tickets.length ? (
          <Empty title="No tickets">
            <p>Tickets are opened when the request is approved, one for each enabled connection.</p>
          </Empty>
        ) : (
          req.jira_tickets.map((i) => <TicketInstance key={i.instance_id} requestId={req.id} i={i} requestStatus={req.status} />)
        )}
      </section>
    </>
  );
}

const RETRYABLE_REQUEST = new Set(['approved', 'in_processing', 'paused', 'pending_external', 'requires_input']);

function TicketInstance({ requestId, i, requestStatus }: { requestId: string; i: Instance; requestStatus: string }) {
  const { can, server } = useSession();
  const queries = useQueryClient();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [linking, setLinking] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const writer = can('write');
  const unfinished = !FINISHED.has(i.task_state);
  const path = { params: { path: { id: requestId, instance: i.instance_id } } };

  const act = async (what: string, call: () => Promise<{ message?: string } | unknown>) => {
    setBusy(what);
    setProblem(null);
    setMessage(null);
    try {
      const answer = (await call()) as { message?: string };
      setMessage(answer?.message ?? 'Done.');
      await queries.invalidateQueries();
      return true;
    } catch (err) {
      setProblem(asProblem(err));
      return false;
    } finally {
      setBusy(null);
    }
  };
  const task = TASK[i.task_state];
  const ui = server.temporal_ui;
  const workflowUrl = ui ? `${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${encodeURIComponent(`WorkflowId="${i.workflow_id}"`)}` : null;
  const titleId = `ticket-${i.instance_id}`;
  return (
    <article className="card ticket" aria-labelledby={titleId}>
      <header className="ticket__header">
        <h3 id={titleId}>
          {i.ticket_key && i.ticket_url ? (
            <a href={i.ticket_url} {...externalLink}>
              {i.ticket_key}
            </a>
          ) : (
            <span className="muted">no ticket yet</span>
          )}{' '}
          <span className="muted small">on {i.connection_key}</span>
        </h3>
        <Badge tone={task.tone}>{task.label}</Badge>
      </header>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd data-testid="ticket-status">{i.status ?? <span className="muted">—</span>}</dd>
        </div>
        <div>
          <dt>Category</dt>
          <dd>{i.status_category ? <Badge tone={CATEGORY[i.status_category] ?? 'neutral'}>{i.status_category}</Badge> : <span className="muted">—</span>}</dd>
        </div>
        <div>
          <dt>Task state</dt>
          <dd data-testid="task-state">{i.task_state}</dd>
        </div>
        <div>
          <dt>Data submitted</dt>
          <dd>{i.data_submitted ? 'yes' : 'no'}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <Time value={i.updated_at} />
          </dd>
        </div>
        <div>
          <dt>Workflow</dt>
          <dd>
            {workflowUrl ? (
              <a href={workflowUrl} {...externalLink}>
                open in the Temporal UI
              </a>
            ) : (
              <code>{i.workflow_id}</code>
            )}
          </dd>
        </div>
      </dl>
      {i.last_error && (
        <p className="error">
          <strong>Last error:</strong> {i.last_error}
        </p>
      )}
      <div className="actions" role="group" aria-label={`Actions on ${i.ticket_key ?? 'the ticket'}`}>
        <button
          type="button"
          className="button"
          disabled={!writer || !unfinished || !i.ticket_key || !!busy}
          onClick={() => act('refresh', () => must(api.POST('/api/v1/privacy-request/{id}/jira-tickets/{instance}/refresh', path)))}
        >
          {busy === 'refresh' ? 'Reading Jira…' : 'Refresh'}
        </button>
        <button
          type="button"
          className="button"
          disabled={!writer || i.task_state !== 'creation_failed' || !RETRYABLE_REQUEST.has(requestStatus) || !!busy}
          onClick={() => act('retry', () => must(api.POST('/api/v1/privacy-request/{id}/jira-tickets/{instance}/retry', path)))}
        >
          Retry
        </button>
        <button type="button" className="button" disabled={!writer || !unfinished || !!busy} aria-expanded={linking} onClick={() => setLinking(!linking)}>
          Link replacement
        </button>
        <button type="button" className="button" disabled={!writer || !unfinished || !!busy} aria-expanded={submitting} onClick={() => setSubmitting(!submitting)}>
          {i.data_submitted ? 'Submit data again' : 'Submit data'}
        </button>
        {!writer && <NeedsScope scope="write" />}
      </div>
      {linking && (
        <LinkForm
          problem={problem}
          onLink={(ticketKey) => act('link', () => must(api.POST('/api/v1/privacy-request/{id}/jira-tickets/link', { params: { path: { id: requestId } }, body: { ticket_key: ticketKey, connection_key: i.connection_key } }))).then((ok) => ok && setLinking(false))}
        />
      )}
      {submitting && (
        <SubmitForm
          problem={problem}
          onSubmit={(data) => act('submit', () => must(api.POST('/api/v1/privacy-request/{id}/jira-tickets/{instance}/submit-data', { ...path, body: { data } })).then(() => ({ message: 'Data submitted: stored, and the workflow told.' }))).then((ok) => ok && setSubmitting(false))}
        />
      )}
      {!linking && !submitting && <ProblemBanner problem={problem} />}
      {message && <Notice tone="success">{message}</Notice>}
    </article>
  );
}

function LinkForm({ onLink, problem }: { onLink: (ticketKey: string) => void; problem: Problem | null }) {
  const [key, setKey] = useState('');
  const error = fieldError(problem, 'body.ticket_key');
  return (
    <form
      className="inline-form"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onLink(key.trim());
      }}
    >
      <Field label="Replacement ticket key" error={error} hint="An existing Jira ticket that ticketflow follows instead">
        {(a11y) => <input {...a11y} type="text" value={key} onChange={(e) => setKey(e.target.value)} placeholder="PRIV-123" autoFocus />}
      </Field>
      {!error && <ProblemBanner problem={problem} />}
      <button type="submit" className="button button--primary" disabled={!key.trim()}>
        Link
      </button>
    </form>
  );
}

function SubmitForm({ onSubmit, problem }: { onSubmit: (data: Record<string, unknown>) => void; problem: Problem | null }) {
  const [text, setText] = useState('{\n  "notes": ""\n}');
  const [parseError, setParseError] = useState<string | null>(null);
  const error = parseError ?? fieldError(problem, 'body.data');
  return (
    <form
      className="inline-form"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        try {
          const data = JSON.parse(text) as unknown;
          if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('must be a JSON object, such as {"deleted_rows": 12}');
          setParseError(null);
          onSubmit(data as Record<string, unknown>);
        } catch (err) {
          setParseError(`The data ${(err as Error).message}`);
        }
      }}
    >
      <Field label="The manual task's data (JSON)" error={error} hint="Stored in ticketflow's database, never in Temporal; the workflow only learns that it arrived">
        {(a11y) => <textarea {...a11y} rows={5} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} className="mono" />}
      </Field>
      {!error && <ProblemBanner problem={problem} />}
      <button type="submit" className="button button--primary">
        Submit data
      </button>
    </form>
  );
}

const REDACTION: Record<Erasure['tickets'][number]['jira_redaction'], string> = {
  pending: 'being redacted in Jira',
  done: 'redacted in Jira',
  ticket_gone: 'the ticket is gone from Jira',
  not_enabled: 'not redacted (the connection does not redact in Jira): edit it there by hand',
};

/**
 * Erasure on demand (DELETE …/personal-data, admin): the identity and every submitted data go; ids, states,
 * ticket keys and times stay. The answer names the tickets that were rendered from personal variables.
 */
function Erase({ requestId, erasedAt }: { requestId: string; erasedAt: string | null }) {
  const { can } = useSession();
  const [asking, setAsking] = useState(false);
  const { busy, problem, run, clear } = useAction();
  const [report, setReport] = useState<Erasure | null>(null);
  const erase = () =>
    run(async () => {
      setReport(await must(api.DELETE('/api/v1/privacy-request/{id}/personal-data', { params: { path: { id: requestId } } })));
      setAsking(false);
    });
  return (
    <>
      <div className="actions" role="group" aria-label="The request's records">
        <Link href={`/audit?target=${encodeURIComponent(requestId)}`} className="button">
          Audit of this request
        </Link>
        <button type="button" className="button button--danger" disabled={!can('admin') || busy} onClick={() => setAsking(true)} aria-haspopup="dialog">
          {erasedAt ? 'Erase personal data again' : 'Erase personal data'}
        </button>
        {!can('admin') && <NeedsScope scope="admin" />}
      </div>
      {asking && (
        <ConfirmDialog title={`Erase the personal data of ${requestId}?`} confirm={busy ? 'Erasing…' : 'Erase personal data'} busy={busy} onConfirm={erase} onCancel={() => (setAsking(false), clear())}>
          <p>
            The requester's email and phone and every data submitted for its tickets are erased now, and cannot be brought back. The request's id, states, ticket
            keys and times stay. Tickets rendered from personal variables are named; they are redacted in Jira where the connection asks for it.
          </p>
          <ProblemBanner problem={problem} />
        </ConfirmDialog>
      )}
      {report && (
        <Notice tone={report.tickets.some((t) => t.jira_redaction === 'not_enabled') ? 'warning' : 'success'} title="Personal data erased">
          <p>
            Erased: {report.erased.identity.length ? report.erased.identity.join(' and ') : 'no identity was left'}
            {report.erased.submitted_data.length ? `, and the data submitted for ${report.erased.submitted_data.length} ticket(s)` : ''}.
          </p>
          {report.tickets.length ? (
            <ul className="outcome" aria-label="Tickets rendered from personal data">
              {report.tickets.map((t) => (
                <li key={t.instance_id}>
                  <strong>{t.ticket_key}</strong> on {t.connection_key} ({t.personal_fields.join(', ')}): {REDACTION[t.jira_redaction]}
                </li>
              ))}
            </ul>
          ) : (
            <p>No ticket was rendered from personal variables.</p>
          )}
        </Notice>
      )}
    </>
  );
}
