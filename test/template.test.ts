import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, formatDate, SAMPLE_VALUES, TemplateError } from '../src/templates/template.js';
import { dueDateFor, renderTicket } from '../src/templates/render.js';
import { textToAdf } from '../src/jira/adf.js';
import { loadConfig, ConfigError } from '../src/platform/config.js';

const render = (t: string, values = SAMPLE_VALUES) => compileTemplate(t)(values);

describe('ticket templates', () => {
  test('the nine reference variables, and the reference URL name as an alias', () => {
    assert.equal(
      render('__REQUEST_ID__|__REQUEST_TYPE__|__SUBMISSION_DATE__|__APPROVAL_DATE__|__DUE_DATE__|__POLICY_NAME__|__EMAIL__|__PHONE__|__REQUEST_URL__'),
      'pri_abc123-def456|erasure|2025-01-15 10:30 UTC|2025-01-16 14:00 UTC|2025-02-14 14:00 UTC|Default Erasure Policy|user@example.com|+1-555-0100|https://privacy.example.com/privacy-requests/pri_abc123-def456',
    );
    assert.equal(render('__FIDES_REQUEST_URL__'), render('__REQUEST_URL__'));
  });

  test('filters, chained, with arguments', () => {
    assert.equal(render('{{ __EMAIL__ | upper }}'), 'USER@EXAMPLE.COM');
    assert.equal(render('{{ __POLICY_NAME__ | lower | replace("erasure", "deletion") }}'), 'default deletion policy');
    assert.equal(render('{{ __POLICY_NAME__ | truncate(10) }}'), 'Default...');
    assert.equal(render("{{ __PHONE__ | default('n/a') }}", { PHONE: '' }), 'n/a');
    assert.equal(render('{{ __REQUEST_TYPE__ | title }}'), 'Erasure');
    assert.equal(render('{{ __POLICY_NAME__ | trim }}', { POLICY_NAME: '  p  ' }), 'p');
  });

  test('unknown variables, unknown filters and bad syntax are refused with the reason', () => {
    assert.throws(() => compileTemplate('Hi __NAME__'), (e: Error) => e instanceof TemplateError && /unknown variable __NAME__/.test(e.message));
    assert.throws(() => compileTemplate('{{ __EMAIL__ | shout }}'), /unknown filter "shout"/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate }}'), /takes 1 argument/);
    assert.throws(() => compileTemplate('{{ EMAIL }}'), /expected a __VARIABLE__/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | replace("a) }}'), TemplateError);
  });

  test('values are text, never template or markup', () => {
    const evil = { EMAIL: 'x[link](http://evil) {{__PHONE__}} {code}', PHONE: 'SECRET' };
    assert.equal(render('__EMAIL__', evil), 'x[link](http://evil) {{__PHONE__}} {code}');
    assert.equal(render('literal {{ braces and __EMAIL__', { EMAIL: 'e' }), 'literal {{ braces and e');
    const adf = textToAdf(render('__EMAIL__', evil));
    assert.deepEqual(adf.content[0]!.content, [{ type: 'text', text: 'x[link](http://evil) {{__PHONE__}} {code}' }]);
  });

  test('dates render as in the reference; due dates from fixed days, the policy, or none', () => {
    assert.equal(formatDate(new Date('2025-01-15T10:30:59Z')), '2025-01-15 10:30 UTC');
    const r = { approvedAt: new Date('2025-01-16T14:00:00Z'), dueDate: new Date('2025-02-14T14:00:00Z') };
    assert.equal(dueDateFor({ dueDateConfig: { type: 'fixed_days', days: 30 } }, r), '2025-02-15');
    assert.equal(dueDateFor({ dueDateConfig: undefined }, r), '2025-02-14');
    assert.equal(dueDateFor({ dueDateConfig: null }, r), null);
  });

  test('a summary is one line of at most 255 characters', () => {
    const settings = {
      authMethod: 'api_token' as const,
      siteUrl: 'https://x',
      projectKey: 'P',
      issueType: 'Task',
      summaryTemplate: 'line one\nline two __POLICY_NAME__',
      descriptionTemplate: null,
      dueDateConfig: null,
    };
    const facts = { id: 'p', requestType: 'access', submittedAt: null, approvedAt: null, dueDate: null, policyName: 'x'.repeat(300), email: null, phone: null, requestUrl: null };
    const t = renderTicket(settings, facts);
    assert.equal(t.summary.length, 255);
    assert.ok(!t.summary.includes('\n'));
    assert.equal(t.description, undefined);
  });
});

describe('configuration', () => {
  test('defaults apply when nothing is set', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 3000);
    assert.equal(c.JIRA_POLLING_INTERVAL_MINUTES, 10);
    assert.equal(c.TEMPORAL_TASK_QUEUE, 'ticketflow');
  });

  test('a bad value is refused with the variable named', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ JIRA_POLLING_INTERVAL_MINUTES: '-1' }), /JIRA_POLLING_INTERVAL_MINUTES/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ UPSTREAM_CALLBACK_URL: 'https://up.example.com/cb' }), /UPSTREAM_CALLBACK_SECRET/);
  });
});
