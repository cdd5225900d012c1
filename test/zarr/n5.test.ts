/**
 * N5 (scripts/make_n5_fixtures.py, test/fixtures/n5): containers written by zarr-python's N5Store
 * and N5 as n5-java writes it, read as zarr-python reads them: layouts, every compression,
 * block headers (mode 0 and varlength), truncated edge blocks, big-endian data, missing blocks;
 * and the metadata conventions of the tools that write N5 (DaCapo's names as zarr-python returns
 * them, gunpowder, N5-viewer, COSEM transforms and multiscales, Neuroglancer's scales), each named
 * by `volume.convention`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DataConfig, DataFormatError, openDataSplit } from '../../src/index.js';
import type { DataConfigOptions } from '../../src/zarr/config.js';
import {
  assertSplitMeta,
  assertSplitReads,
  captureWarnings,
  FIXTURES,
  fixturePath,
  loadExpected,
  type SplitLike,
} from '../helpers/fixtures.js';
import { startStaticServer } from '../helpers/static-server.js';
import { readWholeArray, sha256 } from '../helpers/whole-array.js';

const DIR = path.join(FIXTURES, 'n5');

const CONTAINERS: [name: string, convention: RegExp][] = [
  ['crops', /^funlib \(voxel_size, offset, axis_names, units\)$/],
  ['gunpowder', /^gunpowder \(resolution, offset; N5 order, reversed\)$/],
  ['n5viewer', /^N5-viewer \(pixelResolution; N5 order, reversed\)$/],
  ['cosem', /^COSEM multiscales, level s[01] \(axes \[z, y, x\], ordering C\)/],
  ['neuroglancer', /^(Neuroglancer N5 multiscale .*level s0|gunpowder .*)$/],
];

async function openFixture(name: string, location = fixturePath(`n5/${name}.n5`)) {
  const exp = loadExpected(`n5/${name}`);
  const config = (exp['config'] ?? {}) as Partial<DataConfigOptions>;
  const { result: split, warnings } = await captureWarnings(() => openDataSplit({ ...config, path: location }));
  return { split, warnings, exp };
}

for (const [name, convention] of CONTAINERS) {
  describe(`${name}.n5`, () => {
    test('layout, crop names and array metadata in world units; the convention read is named', async () => {
      const { split, warnings, exp } = await openFixture(name);
      assert.equal(split.format, 'n5');
      assert.equal(split.layout, exp.layout === 'train_test' ? 'train-test' : exp.layout);
      assertSplitMeta(split as unknown as SplitLike, exp);
      assert.deepEqual(warnings, [], 'no missing-attribute warnings');
      for (const crop of [...split.train, ...split.test]) {
        for (const v of [crop.raw, crop.labels]) assert.match(v.convention, convention, `${v.path}: ${v.convention}`);
      }
    });

    test('volume.read and crop.read equal the values written (zarr-python reads the same)', async () => {
      const { split, exp } = await openFixture(name);
      await assertSplitReads(split as unknown as SplitLike, exp);
    });
  });
}

describe('cosem.n5 (OpenOrganelle layout)', () => {
  test('levels sit half a voxel off the finer grid: read at the nearest grid position, said so', async () => {
    const { split } = await openFixture('cosem');
    const labels = split.train[0]!.labels;
    assert.equal(labels.path, 'labels/mito_seg/s1');
    assert.deepEqual([...labels.offset], [8, 16, 16]);
    assert.match(
      labels.convention,
      /translate \[10, 18, 18\] lies off the \[8, 8, 8\] voxel grid .* offset \[8, 16, 16\]/,
    );
  });

  test('level by name or index, voxel size per array or for all, and a missing voxel size listing the levels', async () => {
    const base = { path: fixturePath('n5/cosem.n5'), rawName: 'em/fibsem-uint8', gtName: 'labels/mito_seg' };
    const byName = await openDataSplit({ ...base, level: 's1' });
    assert.equal(byName.train[0]!.raw.path, 'em/fibsem-uint8/s1');
    assert.equal(byName.train[0]!.labels.path, 'labels/mito_seg/s1');
    const both = await openDataSplit({ ...base, voxelSize: [8, 8, 8] });
    assert.deepEqual(
      [both.train[0]!.raw.path, both.train[0]!.labels.path],
      ['em/fibsem-uint8/s1', 'labels/mito_seg/s1'],
    );
    const rawOnly = await openDataSplit({ ...base, voxelSize: { raw: [4, 4, 4] }, level: 1 });
    assert.deepEqual(
      [rawOnly.train[0]!.raw.path, rawOnly.train[0]!.labels.path],
      ['em/fibsem-uint8/s0', 'labels/mito_seg/s1'],
    );
    await assert.rejects(openDataSplit({ ...base, voxelSize: [16, 16, 16] }), (e: unknown) => {
      assert.ok(e instanceof DataFormatError, String(e));
      assert.equal(e.arrayPath, 'labels/mito_seg');
      assert.match(e.message, /has no level with voxel size \[16, 16, 16\] \(levels: s0 \[4, 4, 4\], s1 \[8, 8, 8\]\)/);
      return true;
    });
  });

  test('a single array asked for at another voxel size is an error naming it', async () => {
    await assert.rejects(
      openDataSplit({ path: fixturePath('n5/gunpowder.n5'), voxelSize: [4, 4, 4] }),
      /raw.*single array at voxel size \[40, 4, 4\], not the \[4, 4, 4\] asked/,
    );
  });
});

describe('blocks.n5: block encodings', () => {
  const cases = JSON.parse(fs.readFileSync(path.join(DIR, 'blocks.expected.json'), 'utf8')) as Record<
    string,
    { dtype: string; shape: number[]; sha256: string; zarr_python_reads: boolean; what: string }
  >;
  test('every encoding is here: the compressions, varlength headers, lz4-java streams, missing blocks', () => {
    const kinds = new Set(Object.keys(cases).map((k) => k.split('/')[0]));
    for (const k of [
      'raw',
      'gzip',
      'zlib',
      'bzip2',
      'xz',
      'blosc',
      'zstd',
      'lz4java',
      'varlength',
      'padded',
      'missing',
    ])
      assert.ok(kinds.has(k), k);
  });
  for (const [name, c] of Object.entries(cases)) {
    test(`${name}: ${c.what}`, async () => {
      const got = await readWholeArray(path.join(DIR, 'blocks.n5'), name);
      assert.deepEqual(got.shape, c.shape);
      assert.equal(
        got.data.constructor.name,
        {
          int16: 'Int16Array',
          uint16: 'Uint16Array',
          uint8: 'Uint8Array',
          uint64: 'BigUint64Array',
          int64: 'BigInt64Array',
          float32: 'Float32Array',
          float64: 'Float64Array',
        }[c.dtype],
      );
      assert.equal(sha256(got.data), c.sha256);
    });
  }
});

describe('damaged N5 blocks fail naming the block', () => {
  /** A container holding one dataset of blocks.n5, to damage. */
  const copy = (dataset: string): string => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env['TMPDIR'] ?? '/tmp'), 'n5-'));
    const container = path.join(dir, 'blocks.n5');
    fs.cpSync(path.join(DIR, 'blocks.n5', 'attributes.json'), path.join(container, 'attributes.json'));
    fs.cpSync(path.join(DIR, 'blocks.n5', dataset), path.join(container, dataset), { recursive: true });
    return container;
  };
  const cases: [string, string, (b: Buffer) => Buffer, RegExp][] = [
    [
      'object mode',
      'raw/uint16/0/0/0',
      (b) => Buffer.concat([Buffer.from([0, 2]), b.subarray(2)]),
      /object block \(mode 2\)/,
    ],
    [
      'dimensions',
      'raw/uint16/0/0/0',
      (b) => Buffer.concat([b.subarray(0, 2), Buffer.from([0, 2]), b.subarray(4)]),
      /2 dimensions, the dataset has 3/,
    ],
    [
      'larger than blockSize',
      'raw/uint16/0/0/0',
      (b) => {
        const c = Buffer.from(b);
        c.writeUInt32BE(9, 4);
        return c;
      },
      /larger than the blockSize/,
    ],
    [
      'cut short',
      'raw/uint16/0/0/0',
      (b) => b.subarray(0, b.length - 3),
      /decodes to \d+ bytes where a uint16 block of shape \[4, 4, 5\] holds 160/,
    ],
    ['gzip damage', 'gzip/uint64/1/1/0', (b) => b.subarray(0, b.length - 6), /gzip stream is corrupt or cut short/],
    [
      'lz4-java checksum',
      'lz4java/uint16/0/0/0',
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 30]! ^= 0x40;
        return c;
      },
      /lz4/,
    ],
  ];
  for (const [what, block, hurt, pattern] of cases) {
    test(what, async () => {
      const dataset = block.split('/').slice(0, 2).join('/');
      const container = copy(dataset);
      const file = path.join(container, block);
      fs.writeFileSync(file, hurt(fs.readFileSync(file)));
      await assert.rejects(readWholeArray(container, dataset), (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.equal(e.arrayPath, dataset);
        assert.match(e.message, new RegExp(`block ${block.split('/').slice(2).join('/')} could not be read`));
        assert.match(e.message, pattern);
        return true;
      });
      fs.rmSync(path.dirname(container), { recursive: true });
    });
  }
});

test('an N5 container over http reads like the local one (probing attributes.json)', async () => {
  const server = await startStaticServer(DIR);
  try {
    const remote = await openDataSplit(`${server.url}/neuroglancer.n5`);
    const local = await openDataSplit(fixturePath('n5/neuroglancer.n5'));
    assert.equal(remote.format, 'n5');
    for (const key of ['raw', 'labels'] as const) {
      const r = remote.train[0]![key];
      assert.equal(r.convention, local.train[0]![key].convention);
      assert.deepEqual(await r.read(r.roi), await local.train[0]![key].read(r.roi));
    }
  } finally {
    await server.close();
  }
});

test('an N5 container is all N5: DataConfig and inspect report the format', async () => {
  const split = await openDataSplit(new DataConfig({ path: fixturePath('n5/crops.n5') }));
  assert.equal(split.format, 'n5');
  const zarr = await openDataSplit(fixturePath('crops.zarr'));
  assert.equal(zarr.format, 'zarr');
});
