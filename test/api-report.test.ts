/**
 * The API report (api/tfjs-zarr.api.md) is what the code exports today: every exported name with
 * its declaration and type, and the package's types those declarations use. A change to the API
 * shows as a change to the report: run `npm run api` and commit the report with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiReport, committedReport } from '../scripts/api-report.js';
import * as api from '../src/index.js';

test('the committed API report is the one the code makes (run `npm run api` after changing the API)', () => {
  const now = apiReport();
  const committed = committedReport();
  if (now !== committed) {
    const a = committed.split('\n');
    const b = now.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `api/tfjs-zarr.api.md differs from the code from line ${line + 1}:\n` +
        `  committed: ${a[line] ?? '(end)'}\n  code:      ${b[line] ?? '(end)'}\nRun \`npm run api\` and commit the report.`,
    );
  }
});

test('the report has a declaration for every runtime export', () => {
  const report = committedReport();
  const missing = Object.keys(api).filter((name) => !report.includes(`\n// ${name}\n`));
  assert.deepEqual(missing, []);
});
