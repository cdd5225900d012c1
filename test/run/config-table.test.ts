/** The README's run-config table is the one the schema makes (`npm run docs` rewrites it). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runConfigTable, TABLE_END, TABLE_START, withRunConfigTable } from '../../scripts/run-config-table.js';
import { runConfigSchema } from '../../src/run/schema.js';
import { keysOf } from '../../src/run/schema-tools.js';

test("the README's run-config table matches the schema (run `npm run docs` after changing a key)", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(TABLE_START) && readme.includes(TABLE_END), 'the table markers are in the README');
  assert.equal(readme, withRunConfigTable(readme));
});

test('the table has a row, a default and a meaning for every key', () => {
  const rows = runConfigTable().split('\n').slice(2);
  assert.deepEqual(
    rows.map((r) => /^\| `(\w+)` \|/.exec(r)?.[1]),
    keysOf(runConfigSchema),
  );
  for (const row of rows) {
    const cells = row.split(/(?<!\\)\|/).slice(1, -1);
    assert.equal(cells.length, 3, row);
    assert.ok(
      cells.every((c) => c.trim() !== ''),
      `a cell of ${row} is empty`,
    );
  }
});
