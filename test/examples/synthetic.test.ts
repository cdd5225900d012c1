import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { syntheticCrop } from '../../examples/synthetic/synthetic.js';
import {
  writeDemoContainer,
  ensureDemoContainer,
  demoCropSpecs,
  describeDemoCrops,
  isDemoContainerComplete,
  COMPLETE_MARKER,
  DEMO_NOISE,
} from '../../examples/synthetic/write-container.js';

test('syntheticCrop is deterministic in its seed', () => {
  const a = syntheticCrop({ shape: [12, 40, 36], seed: 5 });
  const b = syntheticCrop({ shape: [12, 40, 36], seed: 5 });
  const c = syntheticCrop({ shape: [12, 40, 36], seed: 6 });
  assert.deepEqual(Buffer.from(a.raw.buffer), Buffer.from(b.raw.buffer));
  assert.deepEqual(Buffer.from(a.labels.buffer), Buffer.from(b.labels.buffer));
  assert.notDeepEqual(Buffer.from(a.raw.buffer), Buffer.from(c.raw.buffer));
});

test('syntheticCrop looks like EM: bright labelled cells, dark membranes labelled 0', () => {
  const shape: [number, number, number] = [24, 64, 64];
  const { raw, labels, cells } = syntheticCrop({ shape, seed: 2, cells: 20 });
  assert.equal(raw.length, 24 * 64 * 64);
  assert.equal(labels.length, raw.length);
  let fg = 0;
  let inSum = 0;
  let memSum = 0;
  let min = Infinity;
  let max = -Infinity;
  const ids = new Set<number>();
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    min = Math.min(min, v);
    max = Math.max(max, v);
    if (labels[i]) {
      fg++;
      inSum += v;
      ids.add(labels[i]!);
    } else memSum += v;
  }
  assert.ok(min >= 0 && max <= 1, `range ${min}..${max}`);
  const frac = fg / raw.length;
  assert.ok(frac > 0.6 && frac < 0.97, `labelled fraction ${frac}`);
  const inside = inSum / fg;
  const membrane = memSum / (raw.length - fg);
  assert.ok(membrane + 0.15 < inside, `membranes ${membrane} vs interiors ${inside}`);
  assert.ok(ids.size >= cells * 0.7 && Math.max(...ids) <= cells, `${ids.size} ids of ${cells}`);
});

test('syntheticCrop is fast enough for demo-sized crops', () => {
  const t0 = Date.now();
  syntheticCrop({ shape: [64, 128, 128], seed: 1 });
  const ms = Date.now() - t0;
  assert.ok(ms < 5000, `${ms} ms`);
});

test('demo container: zarrita opens every array with the right attributes and data', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-demo-'));
  const container = path.join(dir, 'demo.zarr');
  try {
    await writeDemoContainer(container, { seed: 3, small: true });
    assert.ok(await isDemoContainerComplete(container, { seed: 3, small: true }));
    const specs = demoCropSpecs({ seed: 3, small: true });
    assert.deepEqual(
      specs.map((s) => s.path),
      ['train/crop_01', 'train/crop_02', 'test/crop_03', 'test/crop_04'],
    );
    assert.equal(describeDemoCrops({ small: true }).length, 4);
    const root = zarr.root(new FileSystemStore(container));
    const rootGroup = await zarr.open(root, { kind: 'group' });
    assert.ok(rootGroup.attrs['tfjs_zarr_demo']);
    await zarr.open(root.resolve('train'), { kind: 'group' });
    await zarr.open(root.resolve('test'), { kind: 'group' });

    const rawDtypes = new Set<string>();
    let sawContext = false;
    let sawMask = false;
    let sawUint64 = false;
    for (const spec of specs) {
      await zarr.open(root.resolve(spec.path), { kind: 'group' });
      const raw = await zarr.open(root.resolve(`${spec.path}/raw`), { kind: 'array' });
      const labels = await zarr.open(root.resolve(`${spec.path}/labels`), { kind: 'array' });
      assert.equal(raw.dtype, spec.rawDtype);
      assert.equal(labels.dtype, spec.labelsDtype);
      rawDtypes.add(raw.dtype);
      for (const [arr, r] of [
        [raw, spec.rawRoi],
        [labels, spec.labelsRoi],
      ] as const) {
        assert.deepEqual(arr.attrs['voxel_size'], spec.voxelSize);
        assert.deepEqual(arr.attrs['offset'], r.offset);
        assert.deepEqual(arr.attrs['axis_names'], ['z', 'y', 'x']);
        assert.deepEqual(arr.attrs['units'], ['nanometer', 'nanometer', 'nanometer']);
        assert.deepEqual(
          arr.shape,
          r.shape.map((s, a) => s / spec.voxelSize[a]!),
        );
        for (let a = 0; a < 3; a++) assert.equal(r.offset[a]! % spec.voxelSize[a]!, 0);
      }
      // raw covers labels
      for (let a = 0; a < 3; a++) {
        assert.ok(spec.rawRoi.offset[a]! <= spec.labelsRoi.offset[a]!);
        assert.ok(
          spec.rawRoi.offset[a]! + spec.rawRoi.shape[a]! >= spec.labelsRoi.offset[a]! + spec.labelsRoi.shape[a]!,
        );
      }
      if (spec.rawRoi.shape.some((s, a) => s !== spec.labelsRoi.shape[a])) sawContext = true;

      const rawData = (await zarr.get(raw)).data;
      const labelData = (await zarr.get(labels)).data;
      if (spec.labelsDtype === 'uint64') {
        sawUint64 = true;
        assert.ok(labelData instanceof BigUint64Array);
        const nonzero = Array.from(labelData as BigUint64Array).filter((v) => v !== 0n);
        assert.ok(nonzero.length > labelData.length / 2);
        assert.ok(nonzero.every((v) => v > 1n << 32n));
      } else {
        assert.ok(labelData instanceof Uint32Array);
        const nonzero = Array.from(labelData as Uint32Array).filter((v) => v !== 0).length;
        assert.ok(nonzero > labelData.length / 2);
      }
      // Stored raw matches a fresh synthetic volume at the right scale.
      const expect = syntheticCrop({
        shape: spec.rawRoi.shape.map((s, a) => s / spec.voxelSize[a]!) as [number, number, number],
        seed: spec.seed,
        voxelSize: spec.voxelSize,
        noise: DEMO_NOISE,
      });
      const scale = spec.rawDtype === 'uint8' ? 255 : spec.rawDtype === 'uint16' ? 65535 : 1;
      for (const i of [0, 17, rawData.length - 1]) {
        const got = Number((rawData as Uint8Array)[i]) / scale;
        assert.ok(Math.abs(got - expect.raw[i]!) <= 0.5 / scale + 1e-7, `${spec.name} raw[${i}]`);
      }

      if (spec.maskZeroSlab) {
        sawMask = true;
        const mask = await zarr.open(root.resolve(`${spec.path}/mask`), { kind: 'array' });
        assert.deepEqual(mask.attrs['offset'], spec.labelsRoi.offset);
        const m = (await zarr.get(mask)).data as Uint8Array;
        const zeros = m.filter((v) => v === 0).length;
        assert.ok(zeros > 0 && zeros < m.length);
      } else {
        await assert.rejects(zarr.open(root.resolve(`${spec.path}/mask`), { kind: 'array' }));
      }
    }
    assert.deepEqual([...rawDtypes].sort(), ['float32', 'uint16', 'uint8']);
    assert.ok(sawContext && sawMask && sawUint64);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensureDemoContainer generates once, regenerates a half-written one, never clobbers foreign data', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-demo-'));
  const container = path.join(dir, 'demo.zarr');
  try {
    assert.equal(await ensureDemoContainer(container, { small: true }), true);
    const marker = await readFile(path.join(container, COMPLETE_MARKER), 'utf8');
    assert.equal(await ensureDemoContainer(container, { small: true }), false);
    assert.equal(await readFile(path.join(container, COMPLETE_MARKER), 'utf8'), marker);

    // Half-written: marker gone → regenerated.
    await rm(path.join(container, COMPLETE_MARKER));
    assert.equal(await ensureDemoContainer(container, { small: true }), true);
    await stat(path.join(container, COMPLETE_MARKER));

    // Other options → regenerated.
    assert.equal(await ensureDemoContainer(container, { small: true, seed: 9 }), true);
    assert.ok(await isDemoContainerComplete(container, { small: true, seed: 9 }));

    // Someone else's folder: refused.
    const foreign = path.join(dir, 'mine');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'notes.txt'), 'precious');
    await assert.rejects(ensureDemoContainer(foreign, { small: true }), /not a tfjs-zarr demo container/);
    assert.equal(await readFile(path.join(foreign, 'notes.txt'), 'utf8'), 'precious');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
