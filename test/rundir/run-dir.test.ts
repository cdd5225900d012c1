/**
 * Run directory locations: joined by the medium (no path.join on indexeddb:// URLs, which would
 * turn them into `indexeddb:/x`), and an IndexedDB location in Node is a clear error. The
 * IndexedDB medium itself is tested in a page (test/browser/train.test.ts).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { bestCheckpointDir } from '../../src/eval/checkpoint.js';
import { OptionsError } from '../../src/errors.js';
import { IndexedDbRunDir } from '../../src/rundir/indexeddb-run-dir.js';
import { openRunDir } from '../../src/rundir/open.js';

test('file run directories join with the platform path rules', () => {
  const dir = openRunDir('runs/exp1');
  assert.equal(dir.location, path.resolve('runs/exp1'));
  assert.equal(dir.locate('best/crop_03'), path.resolve('runs', 'exp1', 'best', 'crop_03'));
  assert.equal(dir.folder('best').name, 'best');
  assert.equal(dir.parent().location, path.resolve('runs'));
  assert.equal(bestCheckpointDir('runs/exp1', 'crop_03'), path.resolve('runs/exp1/best/crop_03'));
});

test('indexeddb:// locations keep their scheme through every join', () => {
  const g = globalThis as { indexedDB?: unknown };
  g.indexedDB = {}; // the constructor only checks that IndexedDB exists; nothing is opened here
  try {
    const dir = new IndexedDbRunDir('indexeddb://exp1/');
    assert.equal(dir.location, 'indexeddb://exp1');
    assert.equal(dir.locate('best/crop_03'), 'indexeddb://exp1/best/crop_03');
    assert.equal(dir.folder('best/crop_03').locate('./weights.bin'), 'indexeddb://exp1/best/crop_03/weights.bin');
    assert.equal(dir.folder('best/crop_03').parent().location, 'indexeddb://exp1/best');
    assert.equal(dir.folder('best/crop_03').name, 'crop_03');
    assert.equal(bestCheckpointDir(dir, 'crop_03'), 'indexeddb://exp1/best/crop_03');
    assert.throws(() => new IndexedDbRunDir('indexeddb://exp1/../x'), OptionsError);
  } finally {
    delete g.indexedDB;
  }
});

test('an indexeddb:// run directory in Node is an OptionsError saying it lives in a page', () => {
  assert.throws(
    () => openRunDir('indexeddb://exp1'),
    (e: unknown) => e instanceof OptionsError && /indexeddb:\/\/exp1: IndexedDB is not available here/.test(e.message),
  );
});
