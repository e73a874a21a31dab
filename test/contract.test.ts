import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approvedRequest, useStack } from './helpers/ticketflow.js';
import { apiContract } from './helpers/contract.js';
import { eventually } from './helpers/infra.js';

/**
 * The contract check that every test's answers go through (test/helpers/contract.ts) can fail: a body missing a
 * documented field, an undocumented status, or a body of the wrong shape is caught, against the served document.
 */
const ctx = useStack();

test('an answer missing a documented field, with an undocumented status, or of the wrong type breaks the contract', async () => {
  const doc = (await ctx.tf.anonymous.get('openapi.json')).body as never;
  const contract = apiContract(doc);
  assert.equal((await ctx.tf.http.post('api/v1/privacy-request', { json: approvedRequest('pri_contract') })).statusCode, 201);
  const [instance] = await eventually(async () => {
    const list = (await ctx.tf.http.get('api/v1/privacy-request/pri_contract/jira-tickets')).body as Array<Record<string, unknown>>;
    return list.length ? list : null;
  }, 'the instance');
  const path = '/api/v1/privacy-request/pri_contract/jira-tickets';
  const json = 'application/json; charset=utf-8';
  assert.deepEqual(contract.check('GET', path, 200, json, [instance]), [], 'the real answer conforms');
  const { created_at: _, ...withoutCreatedAt } = instance!;
  assert.match(contract.check('GET', path, 200, json, [withoutCreatedAt]).join(), /created_at/, 'a missing field is caught');
  assert.match(contract.check('GET', path, 200, json, [{ ...instance, task_state: 'dreaming' }]).join(), /task_state|allowed values/, 'a value outside the enum is caught');
  assert.match(contract.check('GET', path, 200, json, [{ ...instance, surprise: 1 }]).join(), /additional/, 'an undocumented field is caught');
  assert.match(contract.check('GET', path, 418, json, [instance]).join(), /418, which the document does not list/);
  assert.match(contract.check('POST', '/api/v1/privacy-request', 400, 'application/problem+json', { title: 'x' }).join(), /must have required property/, 'a problem without its fields is caught');
});
