import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { keepPreviousData, useQueryClient } from '@tanstack/react-query';
import { $api, api, asProblem, fieldError, must, type Answer, type Body, type Problem } from '../api/client';
import { useSession } from '../session';
import { Badge, CopyButton, CopyValue, externalLink, Field, Notice, PageHeader, ProblemBanner } from '../components/ui';
import { TemplateField, type Variable } from '../components/template-field';
import { AUTH_MODES, type AuthMode } from './auth-modes';
import { DisconnectButton, DisconnectOutcome, hasCredentials as storesCredentials, StateBadge, WebhookPanel, type Disconnected } from './connections';

type Connection = Answer<'/api/v1/connection/{key}', 'get'>;
type SecretBody = Body<'/api/v1/connection/{key}/secret', 'put'>;
type PreviewBody = Body<'/api/v1/connection/{key}/jira/preview', 'post'>;
type Syntax = Answer<'/api/v1/templates/syntax', 'get'>;

const STEPS = [
  { id: 'name', label: 'Name' },
  { id: 'auth', label: 'Authorize' },
  { id: 'tickets', label: 'Configure tickets' },
  { id: 'test', label: 'Test ticket' },
] as const;
type StepId = (typeof STEPS)[number]['id'];

const MASK = '**********';
const slug = (name: string) =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 60);

/**
 * Adding or editing a connection in the reference product's four steps: name and key, authorize, configure
 * tickets (with a live preview and the API's own checks before saving), and a test ticket. A new connection
 * is created disabled by the first step, so that no approved request reaches it half set up; saving the
 * ticket settings turns it on.
 */
export function ConnectionWizard({ connectionKey }: { connectionKey?: string }) {
  const search = new URLSearchParams(useSearch());
  if (!connectionKey) return <NewConnection />;
  return <EditConnection key={connectionKey} connectionKey={connectionKey} search={search} />;
}

function Steps({ current, onPick, reachable }: { current: StepId; onPick?: (s: StepId) => void; reachable: (s: StepId) => boolean }) {
  return (
    <nav aria-label="Setup steps">
      <ol className="steps">
        {STEPS.map((s, i) => (
          <li key={s.id} className={s.id === current ? 'steps__item steps__item--current' : 'steps__item'}>
            <button type="button" className="steps__button" aria-current={s.id === current ? 'step' : undefined} disabled={!onPick || !reachable(s.id)} onClick={() => onPick?.(s.id)}>
              <span className="steps__number" aria-hidden="true">
                {i + 1}
              </span>
              {s.label}
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}

function NewConnection() {
  const [, navigate] = useLocation();
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [keyEdited, setKeyEdited] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const effectiveKey = keyEdited ? key : slug(name);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const existing = await api.GET('/api/v1/connection/{key}', { params: { path: { key: effectiveKey } } });
      if (existing.response.ok) throw { type: 'about:blank', title: 'Key taken', status: 409, detail: `a connection with the key ${effectiveKey} exists already: choose another key, or edit that one`, field: 'body.0.key' } satisfies Problem;
      await must(api.PATCH('/api/v1/connection', { body: [{ key: effectiveKey, name: name.trim(), connection_type: 'jira_ticket', access: 'write', disabled: true }] }));
      navigate(`/connections/${encodeURIComponent(effectiveKey)}?step=auth`, { replace: true });
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const nameError = fieldError(problem, 'body.0.name');
  const keyError = fieldError(problem, 'body.0.key');
  return (
    <>
      <PageHeader title="Add a Jira connection" subtitle="Four steps: name it, authorize with Jira, choose what its tickets look like, and create a test ticket." />
      <Steps current="name" reachable={() => false} />
      <section className="card" aria-labelledby="step-name">
        <h2 id="step-name">1. Name and key</h2>
        <form onSubmit={submit} noValidate>
          <Field label="Name" error={nameError} hint="What people call it, e.g. “Privacy team Jira”">
            {(a11y) => <input {...a11y} type="text" value={name} onChange={(e) => setName(e.target.value)} required autoFocus />}
          </Field>
          <Field label="Key" error={keyError} hint="Names the connection in the API, webhooks and workflow ids; letters, digits, _ . -; cannot change later">
            {(a11y) => (
              <input
                {...a11y}
                type="text"
                value={effectiveKey}
                onChange={(e) => {
                  setKeyEdited(true);
                  setKey(e.target.value);
                }}
                required
              />
            )}
          </Field>
          {!nameError && !keyError && <ProblemBanner problem={problem} />}
          <p className="muted small">It is created switched off: nothing reaches it until its tickets are configured and saved.</p>
          <div className="form-actions">
            <button type="submit" className="button button--primary" disabled={busy || !name.trim() || !effectiveKey}>
              {busy ? 'Creating…' : 'Create and continue'}
            </button>
            <Link href="/connections" className="button button--ghost">
              Cancel
            </Link>
          </div>
        </form>
      </section>
    </>
  );
}

function EditConnection({ connectionKey, search }: { connectionKey: string; search: URLSearchParams }) {
  const [, navigate] = useLocation();
  const conn = $api.useQuery('get', '/api/v1/connection/{key}', { params: { path: { key: connectionKey } } });
  const authorized = search.get('authorized') === '1';
  const authorizationError = search.get('authorization_error');
  const asked = search.get('step') as StepId | null;
  const c = conn.data;
  const hasCredentials = !!c && authIsSet(c);
  // The step is in the address (?step=…), so that reloading, or coming back from Atlassian, lands on it.
  const step: StepId = asked ?? (authorized || authorizationError || !hasCredentials ? 'auth' : 'tickets');
  const go = (s: StepId) => navigate(`/connections/${encodeURIComponent(connectionKey)}?step=${s}`);
  const [disconnected, setDisconnected] = useState<Disconnected | null>(null);
  if (conn.error) return <ProblemBanner problem={conn.error} />;
  if (!c)
    return (
      <p role="status" className="muted">
        Loading the connection…
      </p>
    );
  const reachable = (s: StepId) => s === 'name' || s === 'auth' || hasCredentials;
  return (
    <>
      <PageHeader
        title={c.name}
        subtitle={
          <>
            <code>{c.key}</code> · <StateBadge health={c.health} />
          </>
        }
      >
        <Link href={`/audit?target=${encodeURIComponent(c.key)}`} className="button button--ghost">
          Audit of this connection
        </Link>
        {storesCredentials(c) && <DisconnectButton connectionKey={c.key} name={c.name} onDone={setDisconnected} />}
        <Link href="/connections" className="button button--ghost">
          All connections
        </Link>
      </PageHeader>
      {disconnected && <DisconnectOutcome name={c.name} answer={disconnected} />}
      <Steps current={step} onPick={go} reachable={reachable} />
      {step === 'name' && <NameStep c={c} onDone={() => go('auth')} />}
      {step === 'auth' && <AuthStep c={c} authorized={authorized} authorizationError={authorizationError} onDone={() => go('tickets')} />}
      {step === 'tickets' && <TicketsStep c={c} onDone={() => go('test')} />}
      {step === 'test' && <TestStep c={c} />}
      {hasCredentials && <WebhookPanel connectionKey={c.key} />}
    </>
  );
}

function authIsSet(c: Connection): boolean {
  const s = c.secrets;
  if (s.auth_method === 'oauth2' || s.auth_method === 'dc_oauth2') return !!s.access_token;
  if (s.auth_method === 'oauth1') return !!s.oauth1_access_token;
  return !!s.domain && !!s.api_key;
}

/** Where Jira sends the browser back after an authorization: the API's callback on the origin this page came from. */
const callbackUrl = () => `${window.location.origin}/api/v1/oauth/jira/callback`;
const text = (v: unknown) => (typeof v === 'string' ? v : '');

function NameStep({ c, onDone }: { c: Connection; onDone: () => void }) {
  const queries = useQueryClient();
  const [name, setName] = useState(c.name);
  const [problem, setProblem] = useState<Problem | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    try {
      await must(api.PATCH('/api/v1/connection', { body: [{ key: c.key, name: name.trim(), connection_type: 'jira_ticket', access: c.access as 'read' | 'write', disabled: c.disabled }] }));
      await queries.invalidateQueries();
      onDone();
    } catch (err) {
      setProblem(asProblem(err));
    }
  };
  return (
    <section className="card" aria-labelledby="step-name">
      <h2 id="step-name">1. Name and key</h2>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={fieldError(problem, 'body.0.name')}>
          {(a11y) => <input {...a11y} type="text" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Key" hint="The key cannot change: it names the connection in webhooks and workflow ids">
          {(a11y) => <input {...a11y} type="text" value={c.key} readOnly />}
        </Field>
        <ProblemBanner problem={fieldError(problem, 'body.0.name') ? null : problem} />
        <div className="form-actions">
          <button type="submit" className="button button--primary">
            Save and continue
          </button>
        </div>
      </form>
    </section>
  );
}

function AuthStep({ c, authorized, authorizationError, onDone }: { c: Connection; authorized: boolean; authorizationError: string | null; onDone: () => void }) {
  const { server } = useSession();
  const queries = useQueryClient();
  const offered = AUTH_MODES.filter((m) => server.auth_methods.includes(m.method));
  const elsewhere = server.auth_methods.filter((m) => !AUTH_MODES.some((a) => a.method === m));
  const stored = (c.secrets.auth_method as string | undefined) ?? (authIsSet(c) ? 'api_token' : undefined);
  const [method, setMethod] = useState(stored ?? offered[0]?.method ?? 'api_token');
  const mode = offered.find((m) => m.method === method) ?? offered[0]!;
  const [values, setValues] = useState<Record<string, string>>({
    domain: text(c.secrets.domain),
    oauth_client_id: text(c.secrets.oauth_client_id),
    oauth1_consumer_key: text(c.secrets.oauth1_consumer_key),
    redirect_uri: text(c.secrets.redirect_uri) || callbackUrl(),
  });
  const publicKey = text(c.secrets.oauth1_public_key);
  // OAuth 1.0a: a key pair made by the API (its private key never leaves it), or one of your own.
  const [keyChoice, setKeyChoice] = useState<'generate' | 'paste'>('generate');
  const [saved, setSaved] = useState(false);
  const [privateKey, setPrivateKey] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [check, setCheck] = useState<Answer<'/api/v1/connection/{key}/jira/test', 'get'> | null>(null);
  const sameMode = method === stored;

  const credentials = (): SecretBody => {
    const body: Record<string, unknown> = { auth_method: method };
    for (const f of mode.fields) {
      const v = values[f.name]?.trim() ?? '';
      // A saved secret is never shown again: an empty field keeps it.
      if (v) body[f.name] = v;
    }
    if (mode.browserFlow === 'dc_oauth2' || mode.browserFlow === 'oauth1') body.redirect_uri = values.redirect_uri?.trim() || callbackUrl();
    if (mode.browserFlow === 'oauth1') {
      if (keyChoice === 'paste' && privateKey.trim()) body.oauth1_private_key = privateKey.trim();
      // Made once: saving again keeps the pair whose public key is already in Jira's application link.
      if (keyChoice === 'generate' && !(sameMode && publicKey)) body.oauth1_generate_key = true;
    }
    return body as SecretBody;
  };

  const runCheck = async () => {
    setCheck(null);
    try {
      setCheck(await must(api.GET('/api/v1/connection/{key}/jira/test', { params: { path: { key: c.key } } })));
    } catch (err) {
      const p = asProblem(err);
      // Before a project is chosen the check cannot look for it: the credentials were accepted.
      if (p.status === 409 && Array.isArray(p.missing) && (p.missing as string[]).every((m) => m === 'project_key' || m === 'issue_type')) {
        const projects = await must(api.GET('/api/v1/connection/{key}/jira/projects', { params: { path: { key: c.key } } })).catch((e: unknown) => {
          setProblem(asProblem(e));
          return null;
        });
        if (projects) setCheck({ status: 'connected', account: `${projects.length} project(s) visible`, project_key: '' });
      } else setProblem(p);
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    setCheck(null);
    setSaved(false);
    try {
      await must(api.PUT('/api/v1/connection/{key}/secret', { params: { path: { key: c.key } }, body: credentials() }));
      await queries.invalidateQueries();
      setPrivateKey('');
      // A browser flow has no tokens to check until it is authorized.
      if (mode.browserFlow) setSaved(true);
      else await runCheck();
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };

  const authorize = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await must(api.PUT('/api/v1/connection/{key}/secret', { params: { path: { key: c.key } }, body: credentials() }));
      const { authorization_url } = await must(api.POST('/api/v1/oauth/jira/initiate', { body: { connection_key: c.key, return_to: 'console' } }));
      // Atlassian asks for consent, then sends the browser to the API's callback, which sends it back here.
      window.location.assign(authorization_url);
    } catch (err) {
      setProblem(asProblem(err));
      setBusy(false);
    }
  };

  const errorOf = (name: string) => fieldError(problem, `body.${name}`);
  const named = mode.fields.some((f) => errorOf(f.name));
  return (
    <section className="card" aria-labelledby="step-auth">
      <h2 id="step-auth">2. Authorize</h2>
      {authorized && (
        <Notice tone="success" title={`Authorized with ${AUTH_MODES.find((m) => m.method === stored)?.authorizeAt ?? 'Jira'}`}>
          {typeof c.secrets.site_url === 'string' ? `ticketflow may now work in ${c.secrets.site_url}.` : 'The tokens are stored, sealed.'} Continue with the tickets.
        </Notice>
      )}
      {authorizationError && (
        <div className="banner banner--error" role="alert">
          <strong>Authorization did not complete</strong>
          <p>{authorizationError}</p>
        </div>
      )}
      <form onSubmit={save} noValidate>
        <fieldset className="modes">
          <legend>How ticketflow signs in to Jira</legend>
          {offered.map((m) => (
            <label key={m.method} className={`mode${m.method === method ? ' mode--chosen' : ''}`}>
              <input type="radio" name="auth_method" value={m.method} checked={m.method === method} onChange={() => (setMethod(m.method), setSaved(false))} />
              <span>
                <span className="mode__label">{m.label}</span> <span className="muted small">{m.deployment}</span>
                <span className="mode__description">{m.description}</span>
              </span>
            </label>
          ))}
          {elsewhere.length > 0 && <p className="muted small">Also available through the API (PUT /api/v1/connection/{'{key}'}/secret): {elsewhere.join(', ')}.</p>}
        </fieldset>
        {mode.fields.map((f) => (
          <Field key={f.name} label={f.label} optional={f.optional} error={errorOf(f.name)} hint={sameMode && f.secret && c.secrets[f.name] === MASK ? 'Saved. Leave empty to keep it; it is never shown again.' : f.hint}>
            {(a11y) => (
              <input
                {...a11y}
                type={f.secret && (f.name === 'api_key' || f.name === 'oauth_client_secret') ? 'password' : 'text'}
                autoComplete="off"
                placeholder={f.placeholder}
                value={values[f.name] ?? ''}
                onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
              />
            )}
          </Field>
        ))}
        {!named && <ProblemBanner problem={problem} />}
        {check && (
          <div className={`banner ${check.status === 'connected' ? 'banner--success' : 'banner--error'}`} role="status">
            {check.status === 'connected' ? (
              <>
                <strong>Jira accepted the credentials</strong>
                <p>Signed in as {check.account}.</p>
              </>
            ) : (
              <>
                <strong>Jira did not accept them: {check.reason.replace(/_/g, ' ')}</strong>
                <p>{check.detail}</p>
              </>
            )}
          </div>
        )}
        {(mode.browserFlow === 'dc_oauth2' || mode.browserFlow === 'oauth1') && (
          <Field
            label="Redirect URL"
            error={errorOf('redirect_uri')}
            hint={mode.browserFlow === 'dc_oauth2' ? "Register exactly this as the incoming link's redirect URL: Jira sends the browser back to it" : 'Jira sends the browser back here after the user authorizes (the OAuth callback)'}
          >
            {(a11y) => (
              <div className="copy-value">
                <input {...a11y} type="url" className="mono" autoComplete="off" value={values.redirect_uri ?? ''} onChange={(e) => setValues({ ...values, redirect_uri: e.target.value })} />
                <CopyButton value={values.redirect_uri ?? ''} label="redirect URL" />
              </div>
            )}
          </Field>
        )}
        {mode.browserFlow === 'oauth1' && (
          <OAuth1Key
            choice={keyChoice}
            onChoice={setKeyChoice}
            privateKey={privateKey}
            onPrivateKey={setPrivateKey}
            error={errorOf('oauth1_private_key')}
            publicKey={sameMode ? publicKey : ''}
            consumerKey={text(c.secrets.oauth1_consumer_key)}
            redirectUri={values.redirect_uri ?? ''}
          />
        )}
        {saved && <Notice tone="success" title="Saved">{mode.browserFlow === 'oauth1' ? 'Paste the public key into the application link, then authorize.' : 'Now authorize.'}</Notice>}
        <AuthorizeFlow
          mode={mode}
          busy={busy}
          onAuthorize={authorize}
          configured={mode.browserFlow !== 'oauth2' || server.oauth2_configured}
          authorizedAlready={sameMode && authIsSet(c)}
          ready={mode.browserFlow !== 'oauth1' || (sameMode && !!publicKey)}
        />
        <div className="form-actions">
          {!mode.browserFlow && (
            <button type="submit" className="button button--primary" disabled={busy}>
              {busy ? 'Checking…' : 'Save and check'}
            </button>
          )}
          {mode.browserFlow === 'oauth1' && (
            <button type="submit" className={`button${sameMode && publicKey ? '' : ' button--primary'}`} disabled={busy}>
              {busy ? 'Saving…' : sameMode && publicKey ? 'Save' : 'Save and show the public key'}
            </button>
          )}
          <button type="button" className="button" disabled={!authIsSet(c) && check?.status !== 'connected'} onClick={onDone}>
            Continue
          </button>
        </div>
      </form>
    </section>
  );
}

/**
 * The browser half of a mode authorized at Atlassian (Cloud's 3LO) or at the Jira server (Data Center's
 * OAuth 2.0 link, OAuth 1.0a): the API's initiate answers the URL to go to, and its callback sends the
 * browser back to this step with ?authorized=1 or ?authorization_error=….
 */
function AuthorizeFlow({ mode, busy, onAuthorize, configured, authorizedAlready, ready }: { mode: AuthMode; busy: boolean; onAuthorize: () => void; configured: boolean; authorizedAlready: boolean; ready: boolean }) {
  if (!mode.browserFlow) return null;
  const at = mode.authorizeAt ?? 'Jira';
  if (!configured)
    return (
      <Notice tone="warning" title="OAuth 2.0 is not set up on this server">
        Its administrator sets JIRA_OAUTH_CLIENT_ID, JIRA_OAUTH_CLIENT_SECRET and JIRA_OAUTH_REDIRECT_URI (see docs/connecting-jira.md); until then choose an API token.
      </Notice>
    );
  return (
    <div className="authorize">
      <button type="button" className="button button--primary" disabled={busy || !ready} onClick={onAuthorize}>
        {authorizedAlready ? `Authorize again with ${at}` : `Authorize with ${at}`}
      </button>
      <span className="muted small">
        {ready
          ? `${mode.browserFlow === 'oauth2' ? '' : 'Saves the fields above, then '}you will be asked to consent at ${at === 'Jira' ? 'your Jira site' : at}, then come back here.`
          : 'Save first: the public key must be in the application link before Jira can sign you in.'}
      </span>
    </div>
  );
}

/** OAuth 1.0a's key pair: made by the API (default) or pasted; then the public key and what goes where in Jira. */
function OAuth1Key(p: {
  choice: 'generate' | 'paste';
  onChoice: (c: 'generate' | 'paste') => void;
  privateKey: string;
  onPrivateKey: (v: string) => void;
  error?: string;
  publicKey: string;
  consumerKey: string;
  redirectUri: string;
}) {
  return (
    <>
      <fieldset className="modes">
        <legend>Key pair</legend>
        <label className={`mode${p.choice === 'generate' ? ' mode--chosen' : ''}`}>
          <input type="radio" name="oauth1_key" checked={p.choice === 'generate'} onChange={() => p.onChoice('generate')} />
          <span>
            <span className="mode__label">Generate a key pair here</span>
            <span className="mode__description">A 2048-bit RSA pair made by the API when saved; the private key is sealed and never shown, the public key is shown to paste into Jira.</span>
          </span>
        </label>
        <label className={`mode${p.choice === 'paste' ? ' mode--chosen' : ''}`}>
          <input type="radio" name="oauth1_key" checked={p.choice === 'paste'} onChange={() => p.onChoice('paste')} />
          <span>
            <span className="mode__label">Paste a private key</span>
            <span className="mode__description">Your own RSA private key in PEM; its public key is shown once saved.</span>
          </span>
        </label>
      </fieldset>
      {p.choice === 'paste' && (
        <Field label="Private key (PEM)" error={p.error} hint={p.publicKey ? 'Saved. Leave empty to keep it; it is never shown again.' : '-----BEGIN PRIVATE KEY----- … or -----BEGIN RSA PRIVATE KEY----- …'}>
          {(a11y) => <textarea {...a11y} rows={6} className="mono" spellCheck={false} autoComplete="off" value={p.privateKey} onChange={(e) => p.onPrivateKey(e.target.value)} />}
        </Field>
      )}
      {p.publicKey && (
        <div className="card card--inset" aria-labelledby="oauth1-link">
          <h3 id="oauth1-link">In Jira's application link</h3>
          <ol className="small">
            <li>Administration → Applications → Application links → Create link (or edit ticketflow's): with ticketflow's address ({window.location.origin}) as the application URL.</li>
            <li>
              Under Incoming Authentication: Consumer Key <code>{p.consumerKey || '(the consumer key above)'}</code>, Consumer Name ticketflow, and the public key below.
            </li>
            <li>Save it, then Authorize here.</li>
          </ol>
          <CopyValue label="Public key" value={p.publicKey} multiline />
        </div>
      )}
    </>
  );
}

// ---- Configure tickets ----

type DueChoice = 'policy' | 'none' | '7' | '14' | '30' | '45' | '60';
const dueOf = (v: unknown): DueChoice => {
  if (v === null) return 'none';
  const d = v as { type?: string; days?: number } | undefined;
  return d?.type === 'fixed_days' ? (String(d.days) as DueChoice) : 'policy';
};
const dueConfig = (d: DueChoice): SecretBody['due_date_config'] =>
  d === 'none' ? null : d === 'policy' ? { type: 'policy_deadline' } : { type: 'fixed_days', days: Number(d) as 7 | 14 | 30 | 45 | 60 };

interface CustomFieldRow {
  id: string;
  value: string;
}

interface TicketForm {
  project_key: string;
  issue_type: string;
  summary_template: string;
  description_template: string;
  due: DueChoice;
  priority: string;
  labels: string;
  assignee_account_id: string;
  custom: CustomFieldRow[];
}

function formOf(c: Connection): TicketForm {
  const s = c.secrets;
  const str = (v: unknown, fallback = '') => (typeof v === 'string' ? v : fallback);
  return {
    project_key: str(s.project_key),
    issue_type: str(s.issue_type),
    summary_template: str(s.summary_template, 'DSR: __REQUEST_TYPE__ request __REQUEST_ID__'),
    description_template: str(s.description_template),
    due: dueOf(s.due_date_config),
    priority: str(s.priority),
    labels: Array.isArray(s.labels) ? (s.labels as string[]).join(', ') : '',
    assignee_account_id: str(s.assignee_account_id),
    custom: Object.entries((s.custom_fields as Record<string, string | string[]> | null | undefined) ?? {}).map(([id, v]) => ({ id, value: Array.isArray(v) ? v.join('; ') : v })),
  };
}

const labelsOf = (text: string) =>
  text
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
const customOf = (rows: CustomFieldRow[]) =>
  rows.filter((r) => r.id.trim()).length
    ? Object.fromEntries(rows.filter((r) => r.id.trim()).map((r) => [r.id.trim(), r.value.includes(';') ? r.value.split(';').map((v) => v.trim()) : r.value]))
    : null;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

function TicketsStep({ c, onDone }: { c: Connection; onDone: () => void }) {
  const queries = useQueryClient();
  const path = { params: { path: { key: c.key } } };
  const [form, setForm] = useState<TicketForm>(() => formOf(c));
  const set = <K extends keyof TicketForm>(k: K, v: TicketForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  // A connection never saved with a project is one being set up: saving turns it on unless unticked.
  const [turnOn, setTurnOn] = useState(c.disabled && !c.secrets.project_key);
  const [saved, setSaved] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [sample, setSample] = useState<'sample' | 'request'>('sample');
  const [requestId, setRequestId] = useState('');

  const projects = $api.useQuery('get', '/api/v1/connection/{key}/jira/projects', path, { staleTime: 60_000 });
  const types = $api.useQuery('get', '/api/v1/connection/{key}/jira/projects/{project}/issuetypes', { params: { path: { key: c.key, project: form.project_key } } }, { enabled: !!form.project_key, staleTime: 60_000 });
  const priorities = $api.useQuery('get', '/api/v1/connection/{key}/jira/priorities', path, { staleTime: 60_000 });
  const syntax = $api.useQuery('get', '/api/v1/templates/syntax', {}, { staleTime: Infinity });
  const variables: Variable[] = syntax.data?.variables ?? [];

  // What the ticket would look like, as the API renders it (its checks included), a moment after typing stops.
  const previewBody: PreviewBody = {
    summary_template: form.summary_template,
    description_template: form.description_template || null,
    due_date_config: dueConfig(form.due),
    labels: labelsOf(form.labels).length ? labelsOf(form.labels) : null,
    custom_fields: customOf(form.custom),
    ...(sample === 'request' && requestId.trim() ? { privacy_request_id: requestId.trim() } : {}),
  };
  const debounced = useDebounced(previewBody, 350);
  const preview = $api.useQuery('post', '/api/v1/connection/{key}/jira/preview', { params: { path: { key: c.key } }, body: debounced }, { placeholderData: keepPreviousData });
  const previewProblem = preview.error ?? null;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    setSaved(null);
    try {
      const body: SecretBody = {
        project_key: form.project_key,
        issue_type: form.issue_type,
        summary_template: form.summary_template,
        description_template: form.description_template || null,
        due_date_config: dueConfig(form.due),
        priority: form.priority || null,
        labels: labelsOf(form.labels).length ? labelsOf(form.labels) : null,
        assignee_account_id: form.assignee_account_id.trim() || null,
        custom_fields: customOf(form.custom),
      };
      await must(api.PUT('/api/v1/connection/{key}/secret', { params: { path: { key: c.key } }, body }));
      if (turnOn) await must(api.PATCH('/api/v1/connection', { body: [{ key: c.key, name: c.name, connection_type: 'jira_ticket', access: c.access as 'read' | 'write', disabled: false }] }));
      await queries.invalidateQueries();
      setSaved(turnOn ? 'Saved, and the connection is on: approved requests get tickets from now.' : 'Saved.');
      setTurnOn(false);
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };

  // The API's words for a field, from saving or else from the preview's check.
  const errorOf = (field: string) => fieldError(problem, `body.${field}`) ?? fieldError(previewProblem, `body.${field}`);
  const fields = ['project_key', 'issue_type', 'summary_template', 'description_template', 'due_date_config', 'priority', 'labels', 'assignee_account_id', 'custom_fields', 'privacy_request_id'];
  const unnamed = problem && !fields.some((f) => fieldError(problem, `body.${f}`)) ? problem : null;
  const filterHint = useMemo(() => filterHintOf(syntax.data), [syntax.data]);

  return (
    <section className="card" aria-labelledby="step-tickets">
      <h2 id="step-tickets">3. Configure tickets</h2>
      <div className="tickets-layout">
        <form onSubmit={save} noValidate className="tickets-form">
          <div className="grid-2">
            <Field label="Project" error={errorOf('project_key') ?? (projects.error ? projects.error.detail : undefined)} hint="Projects these credentials may create issues in">
              {(a11y) => (
                <select {...a11y} value={form.project_key} onChange={(e) => setForm((f) => ({ ...f, project_key: e.target.value, issue_type: '' }))}>
                  <option value="">{projects.isPending ? 'Loading projects…' : 'Choose a project'}</option>
                  {projects.data?.map((p) => (
                    <option key={p.id} value={p.key}>
                      {p.name} ({p.key})
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Issue type" error={errorOf('issue_type') ?? (types.error ? types.error.detail : undefined)} hint="Subtask types are never offered: a ticket stands alone">
              {(a11y) => (
                <select {...a11y} value={form.issue_type} onChange={(e) => set('issue_type', e.target.value)} disabled={!form.project_key}>
                  <option value="">{!form.project_key ? 'Choose a project first' : types.isPending ? 'Loading issue types…' : 'Choose an issue type'}</option>
                  {types.data?.map((t) => (
                    <option key={t.id} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <Field label="Summary" error={errorOf('summary_template')} hint={<>Type <kbd>/</kbd> or <kbd>__</kbd> for a variable. {filterHint}</>}>
            {(a11y) => <TemplateField a11y={a11y} value={form.summary_template} onChange={(v) => set('summary_template', v)} variables={variables} />}
          </Field>
          <Field label="Description" optional error={errorOf('description_template')} hint="Same variables and filters; plain text, lines kept">
            {(a11y) => <TemplateField a11y={a11y} value={form.description_template} onChange={(v) => set('description_template', v)} variables={variables} multiline />}
          </Field>
          <div className="grid-2">
            <Field label="Due date" error={errorOf('due_date_config')} hint="The policy deadline is the request's own due date">
              {(a11y) => (
                <select {...a11y} value={form.due} onChange={(e) => set('due', e.target.value as DueChoice)}>
                  <option value="policy">The policy deadline</option>
                  <option value="none">No due date</option>
                  {['7', '14', '30', '45', '60'].map((d) => (
                    <option key={d} value={d}>
                      {d} days after approval
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Priority" optional error={errorOf('priority')}>
              {(a11y) => (
                <select {...a11y} value={form.priority} onChange={(e) => set('priority', e.target.value)}>
                  <option value="">Jira's default</option>
                  {priorities.data?.map((p) => (
                    <option key={p.id} value={p.name}>
                      {p.name}
                    </option>
                  ))}
                  {form.priority && !priorities.data?.some((p) => p.name === form.priority) && <option value={form.priority}>{form.priority}</option>}
                </select>
              )}
            </Field>
          </div>
          <div className="grid-2">
            <Field label="Labels" optional error={errorOf('labels')} hint="Comma-separated; each may use variables, e.g. dsr, __REQUEST_TYPE__">
              {(a11y) => <input {...a11y} type="text" value={form.labels} onChange={(e) => set('labels', e.target.value)} />}
            </Field>
            <Field label="Assignee account id" optional error={errorOf('assignee_account_id')} hint="The Jira account id tickets are assigned to">
              {(a11y) => <input {...a11y} type="text" value={form.assignee_account_id} onChange={(e) => set('assignee_account_id', e.target.value)} />}
            </Field>
          </div>
          <fieldset className="custom-fields">
            <legend>
              Custom fields <span className="optional">(optional)</span>
            </legend>
            <p className="muted small">A Jira field id (such as customfield_10010) and a template; separate several values with ;</p>
            {form.custom.map((row, i) => (
              <div className="custom-field" key={i}>
                <Field label={`Field ${i + 1} id`} error={errorOf(`custom_fields.${row.id}`)}>
                  {(a11y) => <input {...a11y} type="text" value={row.id} placeholder="customfield_10010" onChange={(e) => set('custom', form.custom.map((r, j) => (j === i ? { ...r, id: e.target.value } : r)))} />}
                </Field>
                <Field label={`Field ${i + 1} value`}>
                  {(a11y) => <TemplateField a11y={a11y} value={row.value} onChange={(v) => set('custom', form.custom.map((r, j) => (j === i ? { ...r, value: v } : r)))} variables={variables} />}
                </Field>
                <button type="button" className="button button--small button--ghost" onClick={() => set('custom', form.custom.filter((_, j) => j !== i))}>
                  Remove field {i + 1}
                </button>
              </div>
            ))}
            {errorOf('custom_fields') && !form.custom.some((r) => errorOf(`custom_fields.${r.id}`)) && <div className="error">{errorOf('custom_fields')}</div>}
            <button type="button" className="button button--small" onClick={() => set('custom', [...form.custom, { id: '', value: '' }])}>
              Add a custom field
            </button>
          </fieldset>
          {c.disabled && (
            <label className="checkbox">
              <input type="checkbox" checked={turnOn} onChange={(e) => setTurnOn(e.target.checked)} /> Turn the connection on when saved (approved requests then get tickets in it)
            </label>
          )}
          <ProblemBanner problem={unnamed} />
          {saved && <Notice tone="success" title={saved} />}
          <div className="form-actions">
            <button type="submit" className="button button--primary" disabled={busy || !form.project_key || !form.issue_type}>
              {busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="button" onClick={onDone}>
              Continue to the test ticket
            </button>
          </div>
        </form>
        <aside className="preview" aria-labelledby="preview-title">
          <h3 id="preview-title">Preview</h3>
          <div className="preview__source" role="radiogroup" aria-label="Preview with">
            <label>
              <input type="radio" name="preview-source" checked={sample === 'sample'} onChange={() => setSample('sample')} /> Sample data
            </label>
            <label>
              <input type="radio" name="preview-source" checked={sample === 'request'} onChange={() => setSample('request')} /> A real request
            </label>
          </div>
          {sample === 'request' && (
            <Field label="Privacy request id" error={fieldError(previewProblem, 'body.privacy_request_id') ?? (previewProblem?.status === 404 ? previewProblem.detail : undefined)}>
              {(a11y) => <input {...a11y} type="text" value={requestId} onChange={(e) => setRequestId(e.target.value)} placeholder="pri_…" />}
            </Field>
          )}
          <div aria-live="polite" aria-busy={preview.isFetching} data-testid="preview">
            {previewProblem && previewProblem.status !== 404 ? (
              <p className="error">The templates have a problem, shown next to the field; the last good preview stays below.</p>
            ) : null}
            {preview.data && (
              <dl className="preview__ticket">
                <dt>Summary</dt>
                <dd className="preview__summary">{preview.data.summary}</dd>
                <dt>Description</dt>
                <dd className="preview__description">{preview.data.description ?? <span className="muted">none</span>}</dd>
                <dt>Due date</dt>
                <dd>{preview.data.due_date ?? <span className="muted">none</span>}</dd>
                <dt>Labels</dt>
                <dd>{preview.data.labels.length ? preview.data.labels.map((l) => <Badge key={l} tone="neutral">{l}</Badge>) : <span className="muted">none</span>}</dd>
                {Object.entries(preview.data.fields).map(([id, v]) => (
                  <div key={id}>
                    <dt>{id}</dt>
                    <dd>{Array.isArray(v) ? v.join(', ') : v}</dd>
                  </div>
                ))}
              </dl>
            )}
            <p className="muted small">{preview.data?.sample_data === false ? 'With the values of the request.' : 'With sample values; no ticket is created.'}</p>
          </div>
        </aside>
      </div>
    </section>
  );
}

function filterHintOf(syntax: Syntax | undefined) {
  if (!syntax) return null;
  return (
    <>
      Filters: <code>{'{{ __EMAIL__ | lower }}'}</code> — {syntax.filters.map((f) => f.usage).join(', ')}.
    </>
  );
}

function TestStep({ c }: { c: Connection }) {
  const [ticket, setTicket] = useState<Answer<'/api/v1/connection/{key}/jira/test-ticket', 'post', 201> | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async () => {
    setBusy(true);
    setProblem(null);
    try {
      setTicket(await must(api.POST('/api/v1/connection/{key}/jira/test-ticket', { params: { path: { key: c.key } } })));
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="step-test">
      <h2 id="step-test">4. Test ticket</h2>
      <p>Creates a real ticket in Jira with sample data (summary prefixed “[TEST]”, label ticketflow-test), to prove the whole path works.</p>
      <ProblemBanner problem={problem} />
      {ticket && (
        <Notice tone="success" title="Test ticket created">
          <a href={ticket.ticket_url} {...externalLink} className="strong">
            {ticket.ticket_key}
          </a>{' '}
          {ticket.summary}
        </Notice>
      )}
      <div className="form-actions">
        <button type="button" className="button button--primary" disabled={busy} onClick={create}>
          {busy ? 'Creating…' : 'Create a test ticket'}
        </button>
        <Link href="/connections" className="button">
          Done
        </Link>
      </div>
    </section>
  );
}
