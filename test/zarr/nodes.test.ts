/**
 * Finding a container's arrays and groups (src/zarr/nodes.ts) from metadata keys: zarr v2
 * `.zarray`/`.zgroup`, v3 `zarr.json` by node type, implicit intermediate groups, consolidated
 * metadata (v2 `.zmetadata`, v3 `consolidated_metadata`) and probing where nothing can be listed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AbsolutePath } from '@zarrita/storage';
import { indexNodes } from '../../src/zarr/nodes.js';
import type { OpenedStore } from '../../src/zarr/stores/index.js';

/** An in-memory store: JSON values by key (no leading slash); `listable` decides whether it lists. */
function memoryStore(files: Record<string, unknown>, listable: boolean): OpenedStore & { gets: string[] } {
  const gets: string[] = [];
  const encoder = new TextEncoder();
  return {
    container: 'memory',
    kind: 'memory',
    gets,
    store: {
      async get(key: AbsolutePath) {
        gets.push(key);
        const v = files[key.slice(1)];
        return v === undefined ? undefined : encoder.encode(typeof v === 'string' ? v : JSON.stringify(v));
      },
    },
    listMetadataKeys: async () => (listable ? Object.keys(files).sort() : null),
  };
}

test('listing: v2 and v3 keys, the node type of zarr.json, implicit groups, sorted children', async () => {
  const store = memoryStore(
    {
      '.zgroup': {},
      'train/crop_02/raw/.zarray': {},
      'train/crop_02/raw/.zattrs': {},
      'train/crop_01/labels/zarr.json': { node_type: 'array' },
      'train/crop_01/zarr.json': { node_type: 'group' },
      'test/zarr.json': { node_type: 'group' },
      'test/crop_03/raw/zarr.json': { node_type: 'array' },
      'notes/readme.txt': 'not metadata',
      'broken/zarr.json': '{ not json',
    },
    true,
  );
  const nodes = await indexNodes(store);
  assert.equal(nodes.source, 'listing');
  assert.equal(await nodes.kind(''), 'group');
  assert.equal(await nodes.kind('train'), 'group'); // no .zgroup: implied by the nodes below it
  assert.equal(await nodes.kind('train/crop_02'), 'group');
  assert.equal(await nodes.kind('train/crop_02/raw'), 'array');
  assert.equal(await nodes.kind('train/crop_01/labels'), 'array');
  assert.equal(await nodes.kind('test/crop_03/raw'), 'array');
  assert.equal(await nodes.kind('notes'), null);
  // A damaged zarr.json is not a missing node: asking about it names the file (issue #9).
  await assert.rejects(nodes.kind('broken'), /broken\/zarr\.json is not valid JSON/);
  assert.equal(await nodes.kind('train/crop_02/raw/0.0'), null);
  assert.deepEqual(await nodes.children(''), ['test', 'train']);
  assert.deepEqual(await nodes.children('train'), ['crop_01', 'crop_02']);
  assert.deepEqual(await nodes.children('train/crop_02'), ['raw']);
  assert.deepEqual(await nodes.children('missing'), []);
});

test('v2 consolidated metadata (.zmetadata) when the store cannot list', async () => {
  const store = memoryStore(
    {
      '.zmetadata': {
        metadata: { '.zgroup': {}, 'train/raw/.zarray': {}, 'train/raw/.zattrs': {}, 'test/labels/.zarray': {} },
        zarr_consolidated_format: 1,
      },
    },
    false,
  );
  const nodes = await indexNodes(store);
  assert.equal(nodes.source, 'consolidated');
  assert.equal(await nodes.kind('train/raw'), 'array');
  assert.equal(await nodes.kind('test'), 'group');
  assert.deepEqual(await nodes.children(''), ['test', 'train']);
});

test('v3 consolidated metadata (consolidated_metadata in the root zarr.json)', async () => {
  const store = memoryStore(
    {
      'zarr.json': {
        node_type: 'group',
        consolidated_metadata: {
          kind: 'inline',
          metadata: { 'train/crop_01': { node_type: 'group' }, 'train/crop_01/raw': { node_type: 'array' } },
        },
      },
    },
    false,
  );
  const nodes = await indexNodes(store);
  assert.equal(nodes.source, 'consolidated');
  assert.equal(await nodes.kind(''), 'group');
  assert.equal(await nodes.kind('train'), 'group');
  assert.equal(await nodes.kind('train/crop_01/raw'), 'array');
  assert.deepEqual(await nodes.children('train'), ['crop_01']);
});

test('probing: kinds from zarr.json, .zarray or .zgroup (each path probed once), no children', async () => {
  const store = memoryStore({ 'raw/zarr.json': { node_type: 'array' }, 'labels/.zarray': {}, '.zgroup': {} }, false);
  const nodes = await indexNodes(store);
  assert.equal(nodes.source, 'probing');
  assert.equal(await nodes.kind(''), 'group');
  assert.equal(await nodes.kind('raw'), 'array');
  assert.equal(await nodes.kind('labels'), 'array');
  assert.equal(await nodes.kind('mask'), null);
  const before = store.gets.length;
  assert.equal(await nodes.kind('mask'), null);
  assert.equal(store.gets.length, before, 'a second question about the same path is answered from the cache');
  assert.equal(await nodes.children(''), null);
});
