import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import got from 'got';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fileCleanup } from './helpers/cleanup.js';
import { eventually, fakeJira, testDatabase, type FakeJira } from './helpers/infra.js';
import { approvedRequest, startTicketflow, type Ticketflow } from './helpers/ticketflow.js';
import { chromiumPath, launchBrowser, NO_BROWSER, pageErrors, screenshotDir } from './helpers/browser.js';
import { freePort } from '../tools/ports.js';

/**
 * The console (/console) in a real browser against the whole product and the fake Jira: the four paths of
 * the issue, as a person takes them, by the labels and roles a screen reader would announce. Each path ends
 * with screenshots (a temporary directory; docs/console with `npm run screenshots`). Without Chromium the
 * browser paths are skipped with one line saying how to run them; the checks of what the API serves at
 * /console run regardless.
 */

const cleanup = fileCleanup();
const ctx = {} as { tf: Ticketflow; jira: FakeJira; token: string; readToken: string };
const OAUTH_SECRET = 'console-oauth-secret';

before(async () => {
  const [orm, jira, port] = await Promise.all([testDatabase(cleanup), fakeJira(cleanup, { FAKE_JIRA_OAUTH_CLIENT_SECRET: OAUTH_SECRET }), freePort()]);
  ctx.jira = jira;
  // The fake Jira is Atlassian's authorization server and API gateway too; its consent page redirects to this API.
  ctx.tf = await startTicketflow(cleanup, orm, {
    port,
    jira,
    oauth: { clientId: 'ticketflow-console', clientSecret: OAUTH_SECRET, redirectUri: `http://127.0.0.1:${port}/api/v1/oauth/jira/callback`, authUrl: jira.url },
  });
  ctx.token = (await ctx.tf.tokens.create('console tests', ['admin'])).token;
  ctx.readToken = (await ctx.tf.tokens.create('reader', ['read'])).token;
});

describe('what /console serves', () => {
  test('the page and its assets without a token, with a CSP that allows no inline script, no framing, no sniffing; the API stays closed to other origins', async () => {
    const page = await got.get(`${ctx.tf.base}/console/connections/anything`, { throwHttpErrors: false });
    assert.equal(page.statusCode, 200, 'any path under /console is the page (its router shows the view)');
    assert.match(page.headers['content-type']!, /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.doesNotMatch(page.body, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(page.body, /https?:\/\/(?!localhost)/, 'nothing from another host (no CDN)');

    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    const asset = await got.get(`${ctx.tf.base}${script}`);
    assert.match(asset.headers['content-type']!, /javascript/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await got.get(`${ctx.tf.base}/console/assets/missing.js`, { throwHttpErrors: false })).statusCode, 404);

    const cross = await got.get(`${ctx.tf.base}/api/v1/me`, { headers: { origin: 'https://elsewhere.example', authorization: `Bearer ${ctx.token}` } });
    assert.equal(cross.headers['access-control-allow-origin'], undefined, 'no CORS grant for the API');
    const preflight = await got(`${ctx.tf.base}/api/v1/me`, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' }, throwHttpErrors: false });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });
});

/**
 * Without Chromium the paths are one skipped test, whose line says how to run them; where they are required
 * (CI: TICKETFLOW_BROWSER_TESTS=required) that test fails instead.
 */
const browserPaths = (name: string, paths: () => void) =>
  chromiumPath()
    ? describe(name, paths)
    : process.env.TICKETFLOW_BROWSER_TESTS === 'required'
      ? test(name, () => assert.fail(NO_BROWSER))
      : test(name, { skip: NO_BROWSER }, () => {});

browserPaths('the console in Chromium', () => {
  let browser: Browser;
  let shots: string;
  const opened: Array<{ page: Page; errors: string[] }> = [];
  before(async () => {
    browser = await launchBrowser(cleanup);
    shots = screenshotDir();
  });
  after(() => {
    // A CSP violation or an exception in any page fails the run, even when the path's assertions passed.
    assert.deepEqual(opened.flatMap((o) => o.errors), [], 'the pages reported errors');
  });

  const open = async (opts: { width?: number; token?: string } = {}): Promise<{ page: Page; context: BrowserContext }> => {
    const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, baseURL: ctx.tf.base });
    cleanup.add('browser context', () => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    opened.push({ page, errors: pageErrors(page) });
    await page.goto('/console');
    await page.getByLabel('API token').fill(opts.token ?? ctx.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    return { page, context };
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  test('1: sign in; add an API-token connection; pick project and issue type; write templates with the variable picker; watch the preview; save; create a test ticket; it is in Jira', async () => {
    const { page } = await open();
    assert.ok(!page.url().includes('tf_'), 'the token is never in the URL');
    assert.equal(await page.evaluate('Object.values(sessionStorage).some((v) => v.startsWith("tf_"))'), true, 'the token is kept in sessionStorage');
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    await page.getByText('No connections yet').waitFor();
    await shot(page, 'connections-empty');

    await page.getByRole('link', { name: 'Add connection' }).first().click();
    await page.getByRole('textbox', { name: 'Name' }).fill('Privacy team');
    assert.equal(await page.getByRole('textbox', { name: 'Key' }).inputValue(), 'privacy_team', 'the key follows the name');
    await shot(page, 'wizard-1-name');
    await page.getByRole('button', { name: 'Create and continue' }).click();

    await page.getByRole('heading', { name: '2. Authorize' }).waitFor();
    await page.getByRole('radio', { name: /^API token Jira Cloud/ }).check();
    await page.getByRole('textbox', { name: 'Site' }).fill(ctx.jira.url);
    await page.getByRole('textbox', { name: 'Email' }).fill('bot@example.com');
    await page.getByLabel('API token', { exact: true }).fill('a-token-for-the-fake');
    await page.getByRole('button', { name: 'Save and check' }).click();
    await page.getByText('Jira accepted the credentials').waitFor();
    await shot(page, 'wizard-2-authorize');
    await page.getByRole('button', { name: 'Continue', exact: true }).click();

    await page.getByRole('heading', { name: '3. Configure tickets' }).waitFor();
    const project = page.getByRole('combobox', { name: 'Project' });
    await project.locator('option', { hasText: 'PRIV' }).waitFor({ state: 'attached' });
    await project.selectOption('PRIV');
    const issueType = page.getByRole('combobox', { name: 'Issue type' });
    await issueType.locator('option', { hasText: 'Task' }).waitFor({ state: 'attached' });
    assert.equal(await issueType.locator('option', { hasText: 'Subtask' }).count(), 0, 'subtask types are never offered');
    await issueType.selectOption('Task');

    const preview = page.getByTestId('preview');
    const summary = page.getByRole('combobox', { name: 'Summary' });
    await summary.fill('Erase data of ');
    await summary.press('End');
    await summary.pressSequentially('/ema');
    const picker = page.getByRole('listbox', { name: 'Template variables' });
    await picker.getByRole('option', { name: /__EMAIL__/ }).waitFor();
    assert.equal(await summary.getAttribute('aria-expanded'), 'true');
    await shot(page, 'wizard-3-variable-picker');
    await summary.press('Enter');
    assert.equal(await summary.inputValue(), 'Erase data of __EMAIL__');
    await preview.getByText('Erase data of user@example.com').waitFor();

    // `__` opens the picker too; a bad filter is flagged next to the field before anything is saved.
    const description = page.getByRole('combobox', { name: 'Description' });
    await description.pressSequentially('Request {{ __');
    await picker.getByRole('option', { name: /__REQUEST_ID__/ }).waitFor();
    await description.press('Enter');
    await description.pressSequentially(' | reverse }}');
    await page.getByText('unknown filter "reverse"').waitFor();
    assert.equal(await description.getAttribute('aria-invalid'), 'true');
    await description.fill('Request {{ __REQUEST_ID__ | upper }} of __POLICY_NAME__');
    await preview.getByText('Request PRI_ABC123-DEF456 of Default Erasure Policy').waitFor();
    assert.equal(await page.getByText('unknown filter').count(), 0, 'the error goes once fixed');

    await page.getByRole('combobox', { name: 'Due date' }).selectOption({ label: '14 days after approval' });
    await preview.getByText('2025-01-30').waitFor();
    await page.getByRole('textbox', { name: 'Labels' }).fill('dsr, __REQUEST_TYPE__');
    await preview.getByText('erasure', { exact: true }).waitFor();
    await page.getByRole('combobox', { name: 'Priority' }).selectOption('High');
    await shot(page, 'wizard-3-tickets');
    assert.ok(await page.getByRole('checkbox', { name: /Turn the connection on/ }).isChecked());
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved, and the connection is on').waitFor();

    await page.getByRole('button', { name: 'Continue to the test ticket' }).click();
    await page.getByRole('button', { name: 'Create a test ticket' }).click();
    await page.getByText('Test ticket created').waitFor();
    const link = page.getByRole('status').getByRole('link', { name: /^PRIV-\d+$/ });
    const key = (await link.textContent())!;
    assert.equal(await link.getAttribute('href'), `${ctx.jira.url}/browse/${key}`);
    await shot(page, 'wizard-4-test-ticket');

    const issue = (await ctx.jira.issues()).find((i) => i.key === key);
    assert.ok(issue, `${key} is in the fake Jira`);
    assert.equal(issue.fields.summary, '[TEST] Erase data of user@example.com');
    assert.deepEqual(issue.fields.priority, { name: 'High' });
    assert.deepEqual(issue.fields.labels, ['ticketflow-test', 'dsr', 'erasure']);

    await page.getByRole('link', { name: 'Done' }).click();
    const row = page.getByRole('row', { name: /Privacy team/ });
    await row.getByText('Connected').waitFor();
    assert.match((await row.textContent())!, /API token.*PRIV/s);
    await shot(page, 'connections');

    // At phone width the table becomes one card per connection, still labelled.
    const phone = await open({ width: 390 });
    await phone.page.getByRole('heading', { name: 'Connections' }).waitFor();
    await phone.page.getByRole('link', { name: 'Privacy team', exact: true }).waitFor();
    assert.equal(await phone.page.evaluate('document.documentElement.scrollWidth <= 400'), true, 'nothing wider than the phone');
    await shot(phone.page, 'connections-phone');
  });

  test('2: approve a request through the API; open it; the ticket moves to Done in Jira; Refresh shows it; submit data; Completed', async () => {
    assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_console') })).statusCode, 201);
    const { page } = await open();
    await page.getByRole('link', { name: 'Privacy requests' }).click();
    await page.getByText('Open a request by its id').waitFor();
    await page.getByRole('searchbox', { name: 'Privacy request id' }).fill('pri_console');
    await page.getByRole('button', { name: 'Open' }).click();
    const ticket = page.getByRole('article');
    // Created by its workflow while the page is open: the page shows it without a reload.
    const key = await eventually(async () => {
      const text = await ticket.getByRole('heading').textContent().catch(() => null);
      return /PRIV-\d+/.exec(text ?? '')?.[0];
    }, 'the ticket key on the page');
    await ticket.getByTestId('task-state').getByText('open').waitFor();
    const refresh = ticket.getByRole('button', { name: 'Refresh' });
    assert.ok(await refresh.isEnabled());
    assert.ok(await ticket.getByRole('button', { name: 'Retry' }).isDisabled(), 'retry applies only to a failed creation');
    const temporal = ticket.getByRole('link', { name: 'open in the Temporal UI' });
    assert.match((await temporal.getAttribute('href'))!, /^http:\/\/localhost:8233\/namespaces\/[^/]+\/workflows\?query=WorkflowId%3D%22privacy-request%2Fpri_console%2Fjira%2Fprivacy_team%22$/);
    await shot(page, 'privacy-request-open');

    // No webhook: only the Refresh button tells ticketflow (the tracker's next cycle is a day away here).
    await ctx.jira.transition(key, 'Done', { webhook: false });
    await refresh.click();
    await ticket.getByTestId('ticket-status').getByText('Done').waitFor();
    await ticket.getByTestId('task-state').getByText('waiting_for_data').waitFor();

    await ticket.getByRole('button', { name: 'Submit data' }).click();
    const data = ticket.getByRole('textbox', { name: /manual task's data/ });
    await data.fill('not json');
    await ticket.getByRole('button', { name: 'Submit data' }).last().click();
    await ticket.getByText(/The data .*JSON/).waitFor();
    await data.fill('{"deleted_rows": 12}');
    await ticket.getByRole('button', { name: 'Submit data' }).last().click();
    await ticket.getByText('Completed', { exact: true }).waitFor();
    assert.ok(await ticket.getByRole('button', { name: 'Refresh' }).isDisabled(), 'nothing more applies once completed');
    await shot(page, 'privacy-request-completed');

    // Erasure on demand: asked first, then the answer names the ticket rendered from the email.
    await page.getByRole('button', { name: 'Erase personal data' }).click();
    const confirm = page.getByRole('dialog', { name: 'Erase the personal data of pri_console?' });
    await confirm.getByRole('button', { name: 'Erase personal data' }).click();
    await confirm.waitFor({ state: 'detached' });
    const erased = page.getByRole('status').filter({ hasText: 'Personal data erased' });
    await erased.getByRole('list', { name: 'Tickets rendered from personal data' }).getByText(new RegExp(`${key} on privacy_team \\(.*summary.*\\): not redacted`)).waitFor();
    await page.getByTestId('erased-at').waitFor();
    assert.ok((((await ctx.tf.http.get('api/v1/privacy-request/pri_console')).body as any).personal_data_erased_at), 'erased, as the API says');

    // A read token sees the same, with every action off and saying why.
    const reader = await open({ token: ctx.readToken });
    assert.equal(await reader.page.getByRole('link', { name: 'Connections' }).count(), 0, 'connections need admin');
    assert.equal(await reader.page.getByRole('link', { name: 'Audit' }).count(), 0, 'the audit log needs admin');
    await reader.page.goto('/console/requests/pri_console');
    await reader.page.getByText('needs a token with scope write').waitFor();
    assert.ok(await reader.page.getByRole('button', { name: 'Link replacement' }).isDisabled());
    assert.ok(await reader.page.getByRole('button', { name: /Erase personal data/ }).isDisabled(), 'erasure needs admin');
    await reader.page.getByRole('link', { name: 'Audit of this request' }).click();
    await reader.page.getByRole('alert').getByText('The audit log needs an admin token').waitFor();
  });

  test('3: an anomaly: create a ticket; link an existing one found by typing part of its summary; unlink it', async () => {
    assert.equal((await ctx.tf.http.put('api/anomalies/4242', { json: { type: 'volumetric', status: 'Active', failed_checks: ['row count'], connection_key: 'privacy_team' } })).statusCode, 201);
    const existing = await ctx.jira.create({ project: { key: 'PRIV' }, issuetype: { name: 'Task' }, summary: 'Orders table lost half its rows overnight' });
    const { page } = await open();
    await page.goto('/console/anomalies/4242');
    await page.getByText('No linked tickets').waitFor();
    await shot(page, 'anomaly-empty');

    const create = page.getByRole('region', { name: 'New ticket' });
    await create.getByRole('textbox', { name: 'Title' }).fill('Null emails in customers');
    await create.getByRole('combobox', { name: 'Priority' }).selectOption('Medium');
    await create.getByRole('button', { name: 'Create and link' }).click();
    await create.getByText(/^Created PRIV-\d+$/).waitFor();
    const links = page.getByRole('table', { name: /Tickets linked/ });
    await links.getByRole('row').filter({ hasText: 'created here' }).waitFor();

    const search = page.getByRole('region', { name: 'Link existing' });
    await search.getByRole('searchbox', { name: 'Search tickets' }).pressSequentially('half its rows');
    const result = search.getByRole('listitem').filter({ hasText: existing.key });
    await result.waitFor();
    await result.getByRole('button', { name: `Link ${existing.key}` }).click();
    const linkedRow = links.getByRole('row').filter({ hasText: existing.key });
    await linkedRow.waitFor();
    assert.equal(await linkedRow.getByRole('link', { name: `View in Jira ${existing.key}` }).getAttribute('href'), `${ctx.jira.url}/browse/${existing.key}`);
    await shot(page, 'anomaly-linked');

    await linkedRow.getByRole('button', { name: `Unlink ${existing.key}` }).click();
    await linkedRow.waitFor({ state: 'detached' });
    assert.equal(await links.getByRole('row').filter({ hasText: 'created here' }).count(), 1, 'the created ticket stays linked');
  });

  test('4: OAuth 2.0: the Authorize button goes to the authorization server and comes back to the console, authorized', async () => {
    const { page } = await open();
    await page.goto('/console/connections/new');
    await page.getByRole('textbox', { name: 'Name' }).fill('Cloud OAuth');
    await page.getByRole('button', { name: 'Create and continue' }).click();
    await page.getByRole('radio', { name: /OAuth 2\.0 \(3LO\)/ }).check();
    await shot(page, 'wizard-2-oauth');
    await page.getByRole('button', { name: 'Authorize with Atlassian' }).click();
    await page.waitForURL(/\/console\/connections\/cloud_oauth\?authorized=1$/);
    await page.getByText('Authorized with Atlassian').waitFor();
    await page.getByText(`ticketflow may now work in ${ctx.jira.url}.`).waitFor();
    assert.equal((await ctx.jira.oauthStats()).authorizationCode, 1, 'one code exchanged');
    const conn = (await ctx.tf.http.get('api/v1/connection/cloud_oauth')).body as any;
    assert.equal(conn.secrets.auth_method, 'oauth2');
    assert.equal(conn.secrets.access_token, '**********');
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    // Discovery works with the OAuth tokens: the projects come from Jira through the gateway.
    await page.getByRole('combobox', { name: 'Project' }).locator('option', { hasText: 'PRIV' }).waitFor({ state: 'attached' });

    // Deleting from the list: a connection with open tickets is refused while enabled (the API's words shown);
    // one without goes at once.
    await page.getByRole('link', { name: 'All connections' }).click();
    const team = page.getByRole('row', { name: /Privacy team/ });
    await team.getByRole('button', { name: 'Delete Privacy team' }).click();
    await page.getByRole('button', { name: 'Delete Privacy team' }).last().click();
    await page.getByRole('alert').getByText(/open privacy-request ticket\(s\).*disable it first/).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    const oauthRow = page.getByRole('row', { name: /Cloud OAuth/ });
    await oauthRow.getByRole('button', { name: 'Delete Cloud OAuth' }).click();
    await page.getByRole('button', { name: 'Delete Cloud OAuth' }).last().click();
    // The outcome is the page's, not the row's: the row goes as soon as the list is read again.
    await page.getByRole('status').getByText('Deleted Cloud OAuth. The connection had no open tickets.').waitFor();
    await oauthRow.waitFor({ state: 'detached' });
    assert.equal((await ctx.tf.http.get('api/v1/connection/cloud_oauth')).statusCode, 404);
  });
  test('5: Data Center OAuth 2.0: register the shown redirect URL in Jira, authorize at the Jira server, back authorized; the manual webhook and a new secret; disconnect; the audit of the connection', async () => {
    const { page } = await open();
    await page.goto('/console/connections/new');
    await page.getByRole('textbox', { name: 'Name' }).fill('Data Center');
    await page.getByRole('button', { name: 'Create and continue' }).click();
    await page.getByRole('radio', { name: /OAuth 2\.0 \(application link\)/ }).check();
    const redirect = await page.getByRole('textbox', { name: 'Redirect URL' }).inputValue();
    assert.equal(redirect, `${ctx.tf.base}/api/v1/oauth/jira/callback`, "the API's callback on the console's origin");
    // The Jira administrator's part: an incoming application link with that redirect URL.
    const app = await ctx.jira.dcOAuthClient(redirect);
    await page.getByRole('textbox', { name: 'Base URL' }).fill(ctx.jira.url);
    await page.getByRole('textbox', { name: 'Client ID' }).fill(app.client_id);
    await page.getByLabel('Client secret').fill(app.client_secret);
    await shot(page, 'wizard-2-dc-oauth');
    const codes = (await ctx.jira.dcStats()).oauth2.authorizationCode;
    await page.getByRole('button', { name: 'Authorize with Jira' }).click();
    await page.waitForURL(/\/console\/connections\/data_center\?authorized=1$/);
    await page.getByText('Authorized with Jira').waitFor();
    await page.getByText(`ticketflow may now work in ${ctx.jira.url}.`).waitFor();
    assert.equal((await ctx.jira.dcStats()).oauth2.authorizationCode - codes, 1, 'one code exchanged, with PKCE');
    assert.equal((await ctx.jira.dcStats()).oauth2.pkceFailures, 0);
    const conn = (await ctx.tf.http.get('api/v1/connection/data_center')).body as any;
    assert.equal(conn.secrets.auth_method, 'dc_oauth2');
    assert.equal(conn.secrets.access_token, '**********');
    assert.equal(conn.secrets.redirect_uri, redirect);

    // A Data Center OAuth 2.0 link cannot manage webhooks: the panel says what to paste, and makes a secret once.
    const hooks = page.getByRole('region', { name: 'Jira webhooks' });
    await hooks.getByText('Manual (an administrator sets it up)').waitFor();
    assert.match(await hooks.getByRole('textbox', { name: 'Webhook URL' }).inputValue(), /\/webhooks\/jira\/data_center$/);
    assert.match(await hooks.getByRole('textbox', { name: 'JQL filter' }).inputValue(), /^project = /);
    await hooks.getByRole('button', { name: 'Make a new secret' }).click();
    await page.getByRole('dialog', { name: 'Make a new webhook secret?' }).getByRole('button', { name: 'Make a new secret' }).click();
    const secret = await hooks.getByRole('textbox', { name: 'Webhook secret' }).inputValue();
    assert.ok(secret.length >= 32, 'the secret, shown once');
    await hooks.getByText('set (never shown again)').waitFor();
    await shot(page, 'connection-webhook');

    await page.getByRole('button', { name: 'Disconnect Data Center' }).click();
    const ask = page.getByRole('dialog', { name: 'Disconnect Data Center from Jira?' });
    await ask.getByRole('button', { name: 'Disconnect Data Center' }).click();
    const outcome = page.getByRole('status').filter({ hasText: 'Disconnected Data Center' });
    await outcome.getByText(/access_token/).waitFor();
    await outcome.getByText('Still to do in Jira:').waitFor();
    await outcome.getByText(/Authorized applications/).waitFor();
    const after = (await ctx.tf.http.get('api/v1/connection/data_center')).body as any;
    assert.equal(after.secrets.access_token, undefined, 'the tokens are forgotten');
    assert.equal(after.secrets.oauth_client_id, app.client_id, 'the application link stays');
    assert.equal(await page.getByRole('button', { name: 'Disconnect Data Center' }).count(), 0, 'nothing left to disconnect');

    await page.getByRole('link', { name: 'Audit of this connection' }).click();
    await page.waitForURL(/\/console\/audit\?target=data_center$/);
    const table = page.getByRole('table', { name: 'Audit entries, oldest first' });
    const row = (route: string) => table.getByRole('row').filter({ hasText: route });
    await row('POST /api/v1/oauth/jira/initiate').getByText('console tests').waitFor();
    await row('GET /api/v1/oauth/jira/callback').getByText('OAuth redirect').waitFor();
    await row('/disconnect').getByText('console tests').waitFor();
    const routes = await table.locator('tbody tr td[data-label="Action"]').allTextContents();
    const at = (r: string) => routes.findIndex((x) => x.includes(r));
    assert.ok(at('initiate') < at('callback') && at('callback') < at('/disconnect'), `in order: ${routes.join(' | ')}`);
    assert.ok(routes.every((r) => !/\/audit/.test(r)), 'reading the log is not an entry');
    assert.equal(await row('/disconnect').getByText('200').count(), 1);
    await shot(page, 'audit');

    // Cleared, the log has everyone's entries; a page is 50, and Load more appends the next by its cursor.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForURL(/\/console\/audit$/);
    await row('POST /api/v1/privacy-request').first().waitFor();
    for (let i = 0; i < 50; i++) assert.equal((await ctx.tf.http.post('api/v1/connection/data_center/jira/webhook-secret')).statusCode, 200);
    await page.goto('/console/audit?target=data_center');
    const body = table.locator('tbody tr');
    await body.nth(49).waitFor();
    assert.equal(await body.count(), 50, 'one page');
    await page.getByRole('button', { name: 'Load more' }).click();
    await body.nth(50).waitFor();
    assert.match((await body.last().textContent())!, /webhook-secret/);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'the newest entry is shown: nothing more to load');
  });
  test('6: OAuth 1.0a: a key pair made by the API; the public key and consumer key to paste into the application link; authorize at the Jira server; back authorized', async () => {
    const { page } = await open();
    await page.goto('/console/connections/new');
    await page.getByRole('textbox', { name: 'Name' }).fill('Server link');
    await page.getByRole('button', { name: 'Create and continue' }).click();
    await page.getByRole('radio', { name: /OAuth 1\.0a/ }).check();
    assert.ok(await page.getByRole('radio', { name: /Generate a key pair here/ }).isChecked(), 'made here unless a key is pasted');
    await page.getByRole('textbox', { name: 'Base URL' }).fill(ctx.jira.url);
    await page.getByRole('textbox', { name: 'Consumer key' }).fill('ticketflow-console');
    assert.ok(await page.getByRole('button', { name: 'Authorize with Jira' }).isDisabled(), 'not before the public key is in Jira');
    await page.getByRole('button', { name: 'Save and show the public key' }).click();
    const publicKey = await page.getByRole('textbox', { name: 'Public key' }).inputValue();
    assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----/);
    await page.getByText('ticketflow-console', { exact: true }).waitFor();
    await shot(page, 'wizard-2-oauth1');
    // The Jira administrator pastes it into the application link's incoming authentication.
    await ctx.jira.appLink('ticketflow-console', publicKey);
    await page.getByRole('button', { name: 'Authorize with Jira' }).click();
    await page.waitForURL(/\/console\/connections\/server_link\?authorized=1$/);
    await page.getByText('Authorized with Jira').waitFor();
    const conn = (await ctx.tf.http.get('api/v1/connection/server_link')).body as any;
    assert.equal(conn.secrets.auth_method, 'oauth1');
    assert.equal(conn.secrets.oauth1_access_token, '**********');
    assert.equal(conn.secrets.oauth1_public_key, publicKey, 'saving again kept the pair whose public key is in Jira');
  });
});
