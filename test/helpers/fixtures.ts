/**
 * Loading the reference fixtures (test/fixtures, written by scripts/make_fixtures.py and
 * scripts/make_v3_fixtures.ts) and comparing what the library reads against them.
 * The format of `<name>.expected.json` is described in test/fixtures/README.md.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

/** A fixture path as a user would type it from the repository root ('test/fixtures/x.zarr'). */
export function fixturePath(name: string): string {
  const abs = path.join(FIXTURES, name);
  const rel = path.relative(process.cwd(), abs);
  return rel.startsWith('..') ? abs : rel;
}

export interface RoiJ {
  offset: number[];
  shape: number[];
}

export interface ArrayExpected {
  path: string;
  dtype: string;
  shape: number[];
  /** null: the design leaves the names open (defaults); any names without '^' */
  axis_names: string[] | null;
  voxel_size: number[];
  offset: number[];
  units: string[];
  roi: RoiJ;
  channels: number;
  normalization?: string | null;
}

export interface VolumeReadExpected {
  array: 'raw' | 'labels' | 'mask';
  kind: string;
  roi: RoiJ;
  /** [spatial..., c] */
  shape: number[];
  /** C order over [spatial..., c]; 64-bit integers as decimal strings */
  values: (number | string)[];
}

export interface CropReadExpected {
  kind: string;
  roi: RoiJ;
  labels_roi: RoiJ | null;
  raw_shape: number[];
  raw: number[];
  label_shape: number[];
  labels: (number | string)[];
  mask: number[];
}

export interface CropExpected {
  /** null: the design does not fix the name of the single crop of the simple/train-test layouts */
  name: string | null;
  voxel_size: number[];
  arrays: { raw: ArrayExpected; labels: ArrayExpected; mask: ArrayExpected | null };
  volume_reads: VolumeReadExpected[];
  crop_reads: CropReadExpected[];
}

export interface ContainerExpected {
  container: string;
  format: string;
  layout: 'simple' | 'train_test' | 'crops';
  warns_missing_attributes?: boolean;
  train: CropExpected[];
  /** resolved: for the simple layout the file says "train" (one crop, train = test) */
  test: CropExpected[];
  [extra: string]: unknown;
}

export function loadExpected(name: string): ContainerExpected {
  const raw = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8'));
  if (raw.test === 'train') raw.test = raw.train;
  return raw as ContainerExpected;
}

export interface BadExpected {
  stage: 'open' | 'read';
  path: string | null;
  attribute: string | null;
  patterns: string[];
  what: string;
  chunk_key?: string;
  store_key?: string;
}

export function loadBadExpected(): Record<string, BadExpected> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'bad.expected.json'), 'utf8'));
}

// ------------------------------------------------------------------------------------------
// Minimal structural types of what the library returns (the real ones live in src/types.ts)
// ------------------------------------------------------------------------------------------

type AnyTyped =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

export interface VolumeLike {
  path: string;
  dtype: string;
  shape: readonly number[];
  axisNames: readonly string[];
  voxelSize: readonly number[];
  offset: readonly number[];
  units: readonly string[];
  roi: { offset: readonly number[]; shape: readonly number[] };
  channels?: number;
  read(roi: RoiJ): Promise<AnyTyped>;
}

export interface CropLike {
  name: string;
  raw: VolumeLike;
  labels: VolumeLike;
  mask: VolumeLike | null;
  voxelSize?: readonly number[];
  read(
    roi: RoiJ,
    labelsRoi?: RoiJ,
  ): Promise<{
    raw: Float32Array;
    rawShape: number[];
    labels: AnyTyped;
    mask: Uint8Array;
    labelShape: number[];
  }>;
}

export interface SplitLike {
  train: CropLike[];
  test: CropLike[];
}

// ------------------------------------------------------------------------------------------
// Comparisons
// ------------------------------------------------------------------------------------------

const STORED_CLASS: Record<string, string> = {
  bool: 'Uint8Array',
  uint8: 'Uint8Array',
  int8: 'Int8Array',
  uint16: 'Uint16Array',
  int16: 'Int16Array',
  uint32: 'Uint32Array',
  int32: 'Int32Array',
  uint64: 'BigUint64Array',
  int64: 'BigInt64Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
};

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/**
 * Compares flat arrays element by element and fails with the first few differing voxels (index
 * and [z, y, x, c] coordinates), instead of a diff of thousands of numbers.
 */
export function assertFlatEqual(
  got: ArrayLike<number | bigint>,
  expected: readonly (number | string)[],
  shape: readonly number[],
  label: string,
  tolerance = 0,
): void {
  assert.equal(
    got.length,
    expected.length,
    `${label}: ${got.length} values, expected ${expected.length} (shape ${shape.join('×')})`,
  );
  const bad: string[] = [];
  let nbad = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const g = got[i]!;
    let ok: boolean;
    if (typeof e === 'string') {
      ok = typeof g === 'bigint' ? g === BigInt(e) : false;
    } else if (typeof g === 'bigint') {
      ok = g === BigInt(e);
    } else {
      ok = tolerance === 0 ? g === e : Math.abs(g - e) <= tolerance;
    }
    if (!ok) {
      nbad++;
      if (bad.length < 5) {
        bad.push(
          `  [${unravel(i, shape).join(', ')}] (flat ${i}): got ${String(g)}${typeof g === 'bigint' ? 'n' : ''}, expected ${String(e)}`,
        );
      }
    }
  }
  if (nbad > 0) {
    assert.fail(`${label}: ${nbad} of ${expected.length} values differ (shape ${shape.join('×')}):\n${bad.join('\n')}`);
  }
}

function roiJ(r: { offset: readonly number[]; shape: readonly number[] }): RoiJ {
  return { offset: [...r.offset], shape: [...r.shape] };
}

export function assertVolumeMeta(vol: VolumeLike | null, exp: ArrayExpected | null, where: string): void {
  if (exp === null) {
    assert.equal(vol, null, `${where}: expected no array`);
    return;
  }
  assert.ok(vol, `${where}: expected an array at ${exp.path}`);
  assert.equal(vol.path, exp.path, `${where}: path`);
  assert.equal(vol.dtype, exp.dtype, `${where}: dtype`);
  assert.deepEqual([...vol.shape], exp.shape, `${where}: shape`);
  if (exp.axis_names === null) {
    assert.equal(vol.axisNames.length, exp.shape.length, `${where}: one axis name per axis`);
    assert.ok(
      vol.axisNames.every((n) => !n.includes('^')),
      `${where}: default axes are all spatial, got ${vol.axisNames.join(',')}`,
    );
  } else {
    assert.deepEqual([...vol.axisNames], exp.axis_names, `${where}: axisNames`);
  }
  assert.deepEqual([...vol.voxelSize], exp.voxel_size, `${where}: voxelSize`);
  assert.deepEqual([...vol.offset], exp.offset, `${where}: offset`);
  assert.deepEqual([...vol.units], exp.units, `${where}: units`);
  assert.deepEqual(roiJ(vol.roi), exp.roi, `${where}: roi (world units)`);
  if (vol.channels !== undefined) assert.equal(vol.channels, exp.channels, `${where}: channels`);
}

export function assertCropMeta(crop: CropLike, exp: CropExpected, where: string): void {
  if (exp.name === null) {
    assert.equal(typeof crop.name, 'string', `${where}: name`);
    assert.ok(crop.name.length > 0, `${where}: non-empty name`);
  } else {
    assert.equal(crop.name, exp.name, `${where}: name`);
  }
  assertVolumeMeta(crop.raw, exp.arrays.raw, `${where} raw`);
  assertVolumeMeta(crop.labels, exp.arrays.labels, `${where} labels`);
  assertVolumeMeta(crop.mask, exp.arrays.mask, `${where} mask`);
  if (crop.voxelSize !== undefined) assert.deepEqual([...crop.voxelSize], exp.voxel_size, `${where}: crop voxelSize`);
}

/** Layout: number and names (sorted) of train and test crops, and every array's metadata. */
export function assertSplitMeta(split: SplitLike, exp: ContainerExpected): void {
  assert.equal(split.train.length, exp.train.length, 'number of train crops');
  assert.equal(split.test.length, exp.test.length, 'number of test crops');
  exp.train.forEach((c, i) => {
    assertCropMeta(split.train[i]!, c, `${exp.container} train[${i}]`);
  });
  exp.test.forEach((c, i) => {
    assertCropMeta(split.test[i]!, c, `${exp.container} test[${i}]`);
  });
  if (exp.layout === 'simple') {
    assert.equal(split.train[0]!.name, split.test[0]!.name, 'simple layout: the one crop is both train and test');
  }
}

export async function assertVolumeReads(crop: CropLike, exp: CropExpected, where: string): Promise<void> {
  for (const r of exp.volume_reads) {
    const vol = crop[r.array];
    assert.ok(vol, `${where}: no ${r.array} array`);
    const label = `${where} ${r.array}.read(${r.kind} offset [${r.roi.offset}] shape [${r.roi.shape}])`;
    const got = await vol.read({ offset: [...r.roi.offset], shape: [...r.roi.shape] });
    assert.equal(
      got.constructor.name,
      STORED_CLASS[vol.dtype],
      `${label}: stored dtype ${vol.dtype} arrives as ${STORED_CLASS[vol.dtype]}`,
    );
    assertFlatEqual(got, r.values, r.shape, label);
  }
}

/** Normalized raw: float32 of (stored / 255 or / 65535) or the stored float; tiny tolerance for the division. */
export const RAW_TOLERANCE = 1e-6;

export async function assertCropReads(crop: CropLike, exp: CropExpected, where: string): Promise<void> {
  for (const r of exp.crop_reads) {
    const label = `${where} crop.read(${r.kind})`;
    const roi = { offset: [...r.roi.offset], shape: [...r.roi.shape] };
    const s =
      r.labels_roi === null
        ? await crop.read(roi)
        : await crop.read(roi, { offset: [...r.labels_roi.offset], shape: [...r.labels_roi.shape] });
    assert.ok(s.raw instanceof Float32Array, `${label}: raw is a Float32Array`);
    assert.deepEqual([...s.rawShape], r.raw_shape, `${label}: rawShape [z, y, x, c]`);
    assertFlatEqual(s.raw, r.raw, r.raw_shape, `${label} raw`, RAW_TOLERANCE);
    assert.deepEqual([...s.labelShape], r.label_shape, `${label}: labelShape [z, y, x]`);
    if (exp.arrays.labels.dtype === 'uint64') {
      assert.ok(s.labels instanceof BigUint64Array, `${label}: uint64 labels arrive as BigUint64Array`);
    } else {
      assert.ok(
        !(s.labels instanceof Float32Array) && !(s.labels instanceof Float64Array),
        `${label}: labels are integers`,
      );
    }
    assertFlatEqual(s.labels, r.labels, r.label_shape, `${label} labels`);
    assert.ok(s.mask instanceof Uint8Array, `${label}: mask is a Uint8Array`);
    assertFlatEqual(s.mask, r.mask, r.label_shape, `${label} mask`);
  }
}

export async function assertSplitReads(split: SplitLike, exp: ContainerExpected): Promise<void> {
  const pairs: [CropLike, CropExpected, string][] = [
    ...exp.train.map(
      (c, i) => [split.train[i]!, c, `${exp.container} train[${i}]`] as [CropLike, CropExpected, string],
    ),
    ...(exp.layout === 'simple'
      ? []
      : exp.test.map((c, i) => [split.test[i]!, c, `${exp.container} test[${i}]`] as [CropLike, CropExpected, string])),
  ];
  for (const [crop, c, where] of pairs) {
    await assertVolumeReads(crop, c, where);
    await assertCropReads(crop, c, where);
  }
}

// ------------------------------------------------------------------------------------------
// Warnings and errors
// ------------------------------------------------------------------------------------------

/** Runs `fn` with console.warn captured; returns its result and the warnings (formatted). */
export async function captureWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(format(...args));
  };
  try {
    const result = await fn();
    return { result, warnings };
  } finally {
    console.warn = original;
  }
}

/** Opens a split and reads every array over its whole region and every crop over its labels. */
export async function openAndReadAll(open: (p: string) => Promise<SplitLike>, p: string): Promise<SplitLike> {
  const split = await open(p);
  for (const crop of [...split.train, ...split.test]) {
    for (const vol of [crop.raw, crop.labels, crop.mask]) {
      if (vol) await vol.read(roiJ(vol.roi));
    }
    await crop.read(roiJ(crop.labels.roi));
  }
  return split;
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regex matching a whole word/path token (not part of a longer identifier). */
export function tokenRegExp(s: string): RegExp {
  return new RegExp(`(^|[^A-Za-z0-9_])${escapeRegExp(s)}([^A-Za-z0-9_]|$)`);
}

/** Numbers printed in sequence with any short separator: [10, 12, 14], 10×12×14, (10,12,14). */
export function sequenceRegExp(nums: readonly number[]): RegExp {
  return new RegExp(`(?<![\\d.])${nums.map((n) => escapeRegExp(String(n))).join('[^\\d\\n]{1,4}')}(?![\\d.])`);
}
