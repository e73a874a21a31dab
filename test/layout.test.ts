import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

/**
 * The house rules of the source tree, checked from its imports (madge reads them, type-only ones included):
 * no import cycles, the product (src/) needs nothing of the tooling, tests or benchmarks, and the workflow
 * bundle reaches only code that can run in Temporal's workflow sandbox.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (skipTypeImports: boolean) => madge(['src', 'tools'], { baseDir: root, fileExtensions: ['ts'], tsConfig: `${root}tsconfig.json`, detectiveOptions: { ts: { skipTypeImports } } });
const graph = read(false);
/** What code loads at run time: type-only imports are erased by the compiler. */
const runtime = read(true);

test('no import cycles, type-only ones included', async () => {
  assert.deepEqual((await graph).circular(), []);
});

test('the product (src/) imports nothing from tools/, test/ or bench/', async () => {
  const crossing = Object.entries((await graph).obj()).flatMap(([file, deps]) => (file.startsWith('src/') ? deps.filter((d: string) => !d.startsWith('src/')).map((d: string) => `${file} → ${d}`) : []));
  assert.deepEqual(crossing, []);
});

test('the workflow bundle reaches no activity, client, database or network code', async () => {
  const reached = new Set<string>();
  const obj = (await runtime).obj();
  const visit = (f: string) => {
    if (reached.has(f)) return;
    reached.add(f);
    for (const d of obj[f] ?? []) visit(d);
  };
  visit('src/workflows.ts');
  const { readFileSync } = await import('node:fs');
  const forbidden = /from '(@temporalio\/(client|activity|worker)|got|pg|@mikro-orm\/[a-z]+|express|node:[a-z]+)'/;
  const bad = [...reached].filter((f) => forbidden.test(readFileSync(`${root}${f}`, 'utf8').replace(/^import type .*$/gm, '')));
  assert.deepEqual(bad, [], 'files the workflow bundle reaches that import Node-only code');
  assert.ok(reached.size >= 8, `the bundle reaches the workflows (${reached.size} files)`);
});
