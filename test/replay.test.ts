import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from './helpers/infra.js';

/**
 * Histories recorded from earlier versions of the workflows (`npm run record-histories`) must replay on the
 * current code: a change that would break running workflows fails here. Re-record only for a change
 * that is made safe for running workflows (e.g. with patched()), and keep the older histories in a folder.
 */
const dir = fileURLToPath(new URL('../../test/histories/', import.meta.url));
// Each folder keeps the histories of an older generation of the workflows; the top level has the newest.
const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json'));

test('recorded histories exist', () => {
  assert.ok(files.length >= 8, `found ${files.length} histories in test/histories`);
});

test('every recorded history replays on the current workflow code', async () => {
  const histories = files.map((f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(readFileSync(`${dir}${f}`, 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: workflowBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  assert.deepEqual(failures, []);
});
