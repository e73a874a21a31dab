import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, formatDate, SAMPLE_VALUES, TemplateError } from '../src/templates/template.js';
import { dueDateFor, renderTicket, SAMPLE_REQUEST } from '../src/templates/render.js';
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
    assert.equal(render("{{ __PHONE__ | default('n/a') }}", {}), 'n/a');
    assert.equal(render('{{ __REQUEST_TYPE__ | title }}'), 'Erasure');
    assert.equal(render('{{ __POLICY_NAME__ | trim }}', { POLICY_NAME: '  p  ' }), 'p');
    assert.equal(render('{{ __POLICY_NAME__ | replace("|", "/") | replace(",", ";",) }}', { POLICY_NAME: 'a|b,c' }), 'a/b;c', 'separators inside strings are text');
  });

  // The examples of Jinja2's documentation of each filter ("List of Builtin Filters"), with a variable in place
  // of the literal they filter; then what the signatures allow.
  const jinja = (t: string, value: string | undefined) => render(t.replace('X', '__POLICY_NAME__'), { POLICY_NAME: value });

  test("truncate(length=255, killwords=False, end='...', leeway=5), as Jinja documents it", () => {
    assert.equal(jinja('{{ X | truncate(9) }}', 'foo bar baz qux'), 'foo...');
    assert.equal(jinja('{{ X | truncate(9, True) }}', 'foo bar baz qux'), 'foo ba...');
    assert.equal(jinja('{{ X | truncate(11) }}', 'foo bar baz qux'), 'foo bar baz qux', 'within length + leeway: kept whole');
    assert.equal(jinja("{{ X | truncate(11, False, '...', 0) }}", 'foo bar baz qux'), 'foo bar...');
    // Keyword arguments, in any order after the positional ones; the result with its end is at most `length`.
    assert.equal(jinja("{{ X | truncate(9, end='…') }}", 'foo bar baz qux'), 'foo bar…');
    assert.equal(jinja('{{ X | truncate(length=9, killwords=true) }}', 'foo bar baz qux'), 'foo ba...');
    assert.equal(jinja("{{ X | truncate(leeway=0, length=11, end='') }}", 'foo bar baz qux'), 'foo bar', 'the last word kept is dropped, as Jinja does');
    assert.equal(jinja('{{ X | truncate }}', 'x'.repeat(260)), 'x'.repeat(260), 'length 255 and leeway 5 by default');
    assert.equal(jinja('{{ X | truncate }}', 'x'.repeat(261)), `${'x'.repeat(252)}...`, 'a single word longer than length is cut');
    assert.equal(jinja('{{ X | truncate(7) }}', '😀'.repeat(13)), `${'😀'.repeat(4)}...`, 'lengths count characters, as Python does');
  });

  test('replace(old, new, count=None), as Jinja documents it', () => {
    assert.equal(jinja('{{ X | replace("Hello", "Goodbye") }}', 'Hello World'), 'Goodbye World');
    assert.equal(jinja(`{{ X | replace("a", "d'oh, ", 2) }}`, 'aaaaargh'), "d'oh, d'oh, aaargh");
    assert.equal(jinja("{{ X | replace('a', 'b', count=none) }}", 'aaa'), 'bbb');
    assert.equal(jinja('{{ X | replace("", "-") }}', 'abc'), '-a-b-c-', "Python's str.replace with an empty old");
  });

  test("default(default_value='', boolean=False): only an undefined value unless boolean, as Jinja documents it", () => {
    assert.equal(jinja("{{ X | default('my_variable is not defined') }}", undefined), 'my_variable is not defined');
    assert.equal(jinja("{{ X | default('the string was empty', true) }}", ''), 'the string was empty');
    assert.equal(jinja("{{ X | default('n/a') }}", ''), '', 'an empty value is defined');
    assert.equal(jinja("{{ X | default(default_value='n/a', boolean=true) }}", ''), 'n/a');
    assert.equal(jinja('{{ X | default }}', undefined), '');
    assert.equal(jinja("{{ X | lower | default('n/a') }}", undefined), '', 'lower turns undefined into text, as in Jinja');
    assert.equal(jinja("{{ X | truncate(5) | default('n/a') }}", undefined), 'n/a', 'truncate passes a short value on as it is, as in Jinja');
  });

  test('a value the request does not have is undefined for default; one it has, even empty, is not', () => {
    const facts = { ...SAMPLE_REQUEST, phone: null, email: null, policyName: '', submittedAt: null };
    const t = renderTicket(
      {
        summaryTemplate: "{{ __PHONE__ | default('no phone') }}, {{ __EMAIL__ | default('no email') }}, [{{ __POLICY_NAME__ | default('none') }}]",
        descriptionTemplate: "{{ __SUBMISSION_DATE__ | default('not submitted') }} __PHONE__.",
        dueDateConfig: null,
      },
      facts,
    );
    assert.equal(t.summary, 'no phone, no email, []');
    assert.equal(t.description, 'not submitted .', 'undefined renders as nothing without default');
  });

  test('upper, lower, title and trim, as Jinja defines them', () => {
    assert.equal(jinja('{{ X | upper }}', 'foo bar'), 'FOO BAR');
    assert.equal(jinja('{{ X | lower }}', 'FOO Bar'), 'foo bar');
    // Jinja's words start after white space and -({[< only, so the letter after an apostrophe stays lower case.
    assert.equal(jinja('{{ X | title }}', "hello WORLD o'neil mcdonald-smith (jr.) [x]y"), "Hello World O'neil Mcdonald-Smith (Jr.) [X]y");
    assert.equal(jinja('{{ X | trim }}', '\t  foo \n'), 'foo');
    assert.equal(jinja("{{ X | trim('x') }}", 'xxfooxx'), 'foo', 'trim(value, chars=None)');
    assert.equal(jinja('{{ X | trim }}', '\x85foo\ufeff'), 'foo\ufeff', "Python's white space, not JavaScript's");
  });

  test('string arguments read escapes as Jinja (Python) does', () => {
    assert.equal(jinja('{{ X | replace(" ", "\\n") }}', 'a b'), 'a\nb');
    assert.equal(jinja('{{ X | replace("e", "\\u00e9") }}', 'cafe'), 'café');
    assert.equal(jinja("{{ X | replace('q', '\\'') }}", 'q'), "'");
    assert.equal(jinja('{{ X | replace("q", "\\q") }}', 'q'), '\\q', 'an unknown escape stays as written');
  });

  test('unknown variables, unknown filters and bad syntax are refused with the reason', () => {
    assert.throws(() => compileTemplate('Hi __NAME__'), (e: Error) => e instanceof TemplateError && /unknown variable __NAME__/.test(e.message));
    assert.throws(() => compileTemplate('{{ __EMAIL__ | shout }}'), /unknown filter "shout"/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(1, 2, 3, 4, 5) }}'), /takes at most 4 argument/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(lenght=3) }}'), /has no argument "lenght"/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(length=9, 3) }}'), /positional argument cannot follow a named one/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(9, length=3) }}'), /got argument "length" twice/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(2) }}'), /length must be at least the length of end \(3\)/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(9, leeway=-1) }}'), /leeway must not be negative/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate("9") }}'), /"length" must be a whole number/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | truncate(9, killwords="yes") }}'), /"killwords" must be true or false/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | replace("a") }}'), /needs argument "new"/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | upper(1) }}'), /takes at most 0 argument/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | default(x) }}'), /argument x must be a quoted string/);
    assert.throws(() => compileTemplate('{{ __EMAIL__ | constructor }}'), /unknown filter "constructor"/);
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
