import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { SessionProvider, useSession, useSignIn } from './session';
import { Empty, Field, ProblemBanner } from './components/ui';
import { ConnectionsPage } from './pages/connections';
import { ConnectionWizard } from './pages/connection-wizard';
import { PrivacyRequestPage } from './pages/privacy-request';
import { AnomalyPage } from './pages/anomaly';
import { AuditPage } from './pages/audit';
import { api, asProblem, tokenStore, type Problem } from './api/client';

export function App() {
  const { token, signIn, signOut } = useSignIn();
  const [why, setWhy] = useState<string | null>(null);
  if (!token) return <SignIn onSignIn={(t) => (setWhy(null), signIn(t))} why={why} />;
  return (
    <SessionProvider
      token={token}
      signOut={signOut}
      loading={<div className="loading" role="status">Signing in…</div>}
      failed={(detail) => <SignIn onSignIn={signIn} why={`The API did not accept the session: ${detail}`} />}
    >
      <Shell
        signOut={() => {
          setWhy('You signed out. The token was forgotten by this tab.');
          signOut();
        }}
      />
    </SessionProvider>
  );
}

function SignIn({ onSignIn, why }: { onSignIn: (token: string) => void; why: string | null }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    // Checked before it is kept: a wrong token is said here, next to the field.
    tokenStore.set(token.trim());
    try {
      const { response, error } = await api.GET('/api/v1/me');
      if (!response.ok) throw error ?? new Error(`the API answered ${response.status}`);
      onSignIn(token.trim());
    } catch (err) {
      tokenStore.clear();
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in" id="main">
      <div className="sign-in__card">
        <p className="brand brand--large">ticketflow</p>
        <h1>Sign in to the console</h1>
        <p className="muted">
          Use an API token. <code>npm start</code> writes an admin token to <code>.data/api-token</code>; others are made with{' '}
          <code>npm run token -- create --scope admin --name you</code>. The token stays in this tab only and is forgotten when it closes.
        </p>
        {why && <p className="banner banner--info" role="status">{why}</p>}
        {/* POST, never GET: without JavaScript a form would otherwise put the token in the URL. */}
        <form method="post" onSubmit={submit} noValidate>
          <Field label="API token" error={problem ? problem.detail : undefined} hint="tf_… as printed when the token was made">
            {(a11y) => <input {...a11y} type="password" name="token" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} autoFocus />}
          </Field>
          <button className="button button--primary" type="submit" disabled={busy || !token.trim()}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}

function Shell({ signOut }: { signOut: () => void }) {
  const { me, can } = useSession();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  // A new page is announced: focus moves to its content, as after a full page load.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) return void (first.current = false);
    main.current?.focus();
  }, [location]);
  const nav: Array<{ href: string; label: string; scope: 'read' | 'admin' }> = [
    { href: '/connections', label: 'Connections', scope: 'admin' },
    { href: '/requests', label: 'Privacy requests', scope: 'read' },
    { href: '/anomalies', label: 'Anomalies', scope: 'read' },
    { href: '/audit', label: 'Audit', scope: 'admin' },
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          ticketflow
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) =>
              can(n.scope) ? (
                <li key={n.href}>
                  <Link href={n.href} className={(active) => (active || location.startsWith(`${n.href}/`) ? 'nav-link nav-link--active' : 'nav-link')} aria-current={location === n.href || location.startsWith(`${n.href}/`) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ) : null,
            )}
          </ul>
        </nav>
        <div className="top__session">
          <span className="top__who">
            {me.name} <span className="muted">· {me.scopes.join(', ')}</span>
          </span>
          <button type="button" className="button button--small button--ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Switch>
          <Route path="/">{can('admin') ? <Redirect to="/connections" /> : <Redirect to="/requests" />}</Route>
          <Route path="/connections">{admin(can('admin'), <ConnectionsPage />)}</Route>
          <Route path="/connections/new">{admin(can('admin'), <ConnectionWizard />)}</Route>
          <Route path="/connections/:key">{(p) => admin(can('admin'), <ConnectionWizard connectionKey={decodeURIComponent(p.key)} />)}</Route>
          <Route path="/requests">
            <PrivacyRequestPage />
          </Route>
          <Route path="/requests/:id">{(p) => <PrivacyRequestPage requestId={decodeURIComponent(p.id)} />}</Route>
          <Route path="/anomalies">
            <AnomalyPage />
          </Route>
          <Route path="/anomalies/:id">{(p) => <AnomalyPage anomalyId={decodeURIComponent(p.id)} />}</Route>
          <Route path="/audit">{admin(can('admin'), <AuditPage />, AUDIT_NEEDS_ADMIN)}</Route>
          <Route>
            <Empty title="No such page">
              <Link href="/">Back to the start</Link>
            </Empty>
          </Route>
        </Switch>
      </main>
    </>
  );
}

const CONNECTIONS_NEED_ADMIN = { title: 'Connections need an admin token', detail: 'Connections hold Jira credentials, so only a token with scope admin may see or change them. Sign in with such a token.' };
const AUDIT_NEEDS_ADMIN = {
  title: 'The audit log needs an admin token',
  detail: 'It names every token and the ids each one acted on, so only a token with scope admin may read it (GET /api/v1/audit). Sign in with such a token, or ask an administrator.',
};

function admin(allowed: boolean, page: ReactNode, why = CONNECTIONS_NEED_ADMIN): ReactNode {
  if (allowed) return page;
  return <ProblemBanner problem={{ type: 'about:blank', status: 403, ...why }} />;
}
