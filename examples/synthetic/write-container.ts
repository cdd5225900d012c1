/**
 * Writes a synthetic DaCapo-style zarr v3 container for demos, tests and benchmarks:
 *
 * ```
 * <dir>/train/crop_01/{raw,labels}         isotropic 8 nm, raw uint8,   labels uint32, raw with uneven context
 * <dir>/train/crop_02/{raw,labels,mask}    anisotropic 16×8×8 nm, raw uint16, labels uint64 (ids > 2^32), mask slab
 * <dir>/test/crop_03/{raw,labels,mask}     isotropic 8 nm, raw float32, labels uint32, raw with context, mask slab
 * <dir>/test/crop_04/{raw,labels}          anisotropic 16×8×8 nm, raw uint8, labels uint32
 * ```
 *
 * With `layout: 'simple'` the container holds one crop (crop_01's data) at its root,
 * `<dir>/{raw,labels}` (train = test); with `layout: 'train-test'`, crop_01 at `<dir>/train/` and
 * crop_03 at `<dir>/test/`.
 *
 * Arrays carry `voxel_size`, `offset` (world units), `axis_names` and `units` attributes; chunks
 * are 32³ with the plain `bytes` codec. The container is built in a temporary sibling folder,
 * finished with a `.complete` marker, then renamed into place, so a half-written container is
 * never mistaken for a good one; `ensureDemoContainer` builds it once and reuses it.
 */
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { mkdir, readFile, rename, rm, stat, writeFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Roi } from '../../src/roi.js';
import { roi, roiEnd } from '../../src/roi.js';
import { syntheticCrop } from './synthetic.js';

export interface DemoOptions {
  /** Seed of the synthetic data. Default 1. */
  seed?: number;
  /** Tiny crops (≈20×28×28 voxels) for tests and smoke runs. Default false. */
  small?: boolean;
  /**
   * DaCapo layout: 'crops' (default, the four crops above), 'simple' (crop_01 as `{raw,labels}` at
   * the root: train = test) or 'train-test' (crop_01 as `train/`, crop_03 as `test/`).
   */
  layout?: DemoLayout;
}

export type DemoLayout = 'crops' | 'simple' | 'train-test';

export type DemoRawDtype = 'uint8' | 'uint16' | 'float32';
export type DemoLabelsDtype = 'uint32' | 'uint64';

export interface DemoCropSpec {
  name: string;
  split: 'train' | 'test';
  /** Group path inside the container, e.g. 'train/crop_01' ('' for the root: simple layout). */
  path: string;
  voxelSize: [number, number, number];
  /** World units. */
  rawRoi: Roi;
  labelsRoi: Roi;
  rawDtype: DemoRawDtype;
  labelsDtype: DemoLabelsDtype;
  /** Added to every non-zero label id (uint64 crop: 2^32, so ids do not survive float32). */
  labelIdOffset: bigint;
  /** Mask region set to 0 (voxels, relative to the labels array), or null when there is no mask. */
  maskZeroSlab: { axis: 0 | 1 | 2; from: number; to: number } | null;
  /** Seed of this crop's synthetic volume. */
  seed: number;
}

export const DEMO_FORMAT_VERSION = 2;
/** Standard deviation of the demo raw's Gaussian noise (intensities in [0, 1]). */
export const DEMO_NOISE = 0.15;
export const COMPLETE_MARKER = '.complete';
const CHUNK = 32;
const UNITS = ['nanometer', 'nanometer', 'nanometer'];
const AXES = ['z', 'y', 'x'];

interface Layout {
  name: string;
  split: 'train' | 'test';
  voxelSize: [number, number, number];
  /** Labels shape and offset, in voxels. */
  labelsShape: [number, number, number];
  labelsOffsetVox: [number, number, number];
  /** Raw context (voxels) before and after the labels region, per axis. */
  before: [number, number, number];
  after: [number, number, number];
  rawDtype: DemoRawDtype;
  labelsDtype: DemoLabelsDtype;
  labelIdOffset: bigint;
  mask: 'none' | 'slab';
}

function layouts(small: boolean): Layout[] {
  const S = (full: [number, number, number], tiny: [number, number, number]): [number, number, number] =>
    small ? tiny : full;
  return [
    {
      name: 'crop_01',
      split: 'train',
      voxelSize: [8, 8, 8],
      labelsShape: S([40, 112, 112], [16, 24, 24]),
      labelsOffsetVox: [100, 200, 300],
      before: S([4, 8, 6], [2, 3, 1]),
      after: S([2, 5, 9], [1, 2, 3]),
      rawDtype: 'uint8',
      labelsDtype: 'uint32',
      labelIdOffset: 0n,
      mask: 'none',
    },
    {
      name: 'crop_02',
      split: 'train',
      voxelSize: [16, 8, 8],
      labelsShape: S([32, 96, 128], [10, 24, 28]),
      labelsOffsetVox: [30, 400, 120],
      before: [0, 0, 0],
      after: [0, 0, 0],
      rawDtype: 'uint16',
      labelsDtype: 'uint64',
      labelIdOffset: 1n << 32n,
      mask: 'slab',
    },
    {
      name: 'crop_03',
      split: 'test',
      voxelSize: [8, 8, 8],
      labelsShape: S([48, 96, 96], [16, 24, 24]),
      labelsOffsetVox: [260, 40, 512],
      before: S([3, 10, 4], [1, 2, 3]),
      after: S([5, 2, 8], [2, 3, 1]),
      rawDtype: 'float32',
      labelsDtype: 'uint32',
      labelIdOffset: 0n,
      mask: 'slab',
    },
    {
      name: 'crop_04',
      split: 'test',
      voxelSize: [16, 8, 8],
      labelsShape: S([32, 96, 112], [10, 24, 24]),
      labelsOffsetVox: [64, 640, 64],
      before: [0, 0, 0],
      after: [0, 0, 0],
      rawDtype: 'uint8',
      labelsDtype: 'uint32',
      labelIdOffset: 0n,
      mask: 'none',
    },
  ];
}

/** The crops `writeDemoContainer` writes (names, splits, world regions, dtypes). */
export function demoCropSpecs(options: DemoOptions = {}): DemoCropSpec[] {
  const seed = options.seed ?? 1;
  const layout = demoLayout(options);
  const specs = layouts(options.small ?? false).map((l, i): DemoCropSpec => {
    const vs = l.voxelSize;
    const labelsOffset = l.labelsOffsetVox.map((o, a) => o * vs[a]!);
    const labelsRoi = roi(
      labelsOffset,
      l.labelsShape.map((s, a) => s * vs[a]!),
    );
    const rawRoi = roi(
      labelsOffset.map((o, a) => o - l.before[a]! * vs[a]!),
      l.labelsShape.map((s, a) => (s + l.before[a]! + l.after[a]!) * vs[a]!),
    );
    // Mask: a slab of unknown voxels along one axis (a quarter of the labels' extent).
    let maskZeroSlab: DemoCropSpec['maskZeroSlab'] = null;
    if (l.mask === 'slab') {
      const axis = (l.name === 'crop_02' ? 2 : 0) as 0 | 1 | 2;
      const len = l.labelsShape[axis];
      const width = Math.max(1, Math.floor(len / 4));
      maskZeroSlab = axis === 2 ? { axis, from: len - width, to: len } : { axis, from: 0, to: width };
    }
    return {
      name: l.name,
      split: l.split,
      path: `${l.split}/${l.name}`,
      voxelSize: [...vs] as [number, number, number],
      rawRoi,
      labelsRoi,
      rawDtype: l.rawDtype,
      labelsDtype: l.labelsDtype,
      labelIdOffset: l.labelIdOffset,
      maskZeroSlab,
      seed: seed * 1000 + i + 1,
    };
  });
  if (layout === 'simple') return [{ ...specs[0]!, path: '' }];
  if (layout === 'train-test')
    return [
      { ...specs[0]!, path: 'train' },
      { ...specs[2]!, path: 'test' },
    ];
  return specs;
}

function demoLayout(options: DemoOptions): DemoLayout {
  const layout = options.layout ?? 'crops';
  if (layout !== 'crops' && layout !== 'simple' && layout !== 'train-test') {
    throw new Error(`demo container: layout must be 'crops', 'simple' or 'train-test', got ${JSON.stringify(layout)}`);
  }
  return layout;
}

/** Marker and root-attribute fields: `layout` only when it is not the default (older markers lack it). */
function layoutField(options: DemoOptions): { layout?: DemoLayout } {
  const layout = demoLayout(options);
  return layout === 'crops' ? {} : { layout };
}

const join = (group: string, name: string): string => (group ? `${group}/${name}` : name);

/** One line per crop, for printing. */
export function describeDemoCrops(options: DemoOptions = {}): string[] {
  return demoCropSpecs(options).map((c) => {
    const vox = (r: Roi): string => r.shape.map((s, a) => s / c.voxelSize[a]!).join('×');
    const fmt = (r: Roi): string => `[${r.offset.join(', ')} : ${roiEnd(r).join(', ')}]`;
    return (
      `${c.path || '(root)'}: voxel ${c.voxelSize.join('×')} nm, raw ${c.rawDtype} ${vox(c.rawRoi)} at ${fmt(c.rawRoi)}, ` +
      `labels ${c.labelsDtype} ${vox(c.labelsRoi)} at ${fmt(c.labelsRoi)}` +
      (c.maskZeroSlab
        ? `, mask 0 on ${'zyx'[c.maskZeroSlab.axis]} ∈ [${c.maskZeroSlab.from}, ${c.maskZeroSlab.to})`
        : '')
    );
  });
}

function spatialAttributes(voxelSize: readonly number[], offset: readonly number[]): Record<string, unknown> {
  return { voxel_size: [...voxelSize], offset: [...offset], axis_names: AXES, units: UNITS };
}

type AnyData = Uint8Array | Uint16Array | Uint32Array | Float32Array | BigUint64Array;

async function writeArray(
  root: zarr.Location<FileSystemStore>,
  arrayPath: string,
  dtype: 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32',
  shape: [number, number, number],
  data: AnyData,
  attributes: Record<string, unknown>,
): Promise<void> {
  const arr = await zarr.create(root.resolve(arrayPath), {
    shape,
    chunkShape: shape.map((s) => Math.min(CHUNK, s)),
    dtype,
    codecs: [{ name: 'bytes', configuration: { endian: 'little' } }],
    fillValue: 0 as never, // a JSON number, also for uint64 (zarrita converts it)
    dimensionNames: AXES,
    attributes,
  });
  const stride = [shape[1] * shape[2], shape[2], 1];
  await zarr.set(arr, null, { data, shape, stride } as never);
}

async function buildContainer(dir: string, options: DemoOptions): Promise<void> {
  const store = new FileSystemStore(dir);
  const root = zarr.root(store);
  const seed = options.seed ?? 1;
  const small = options.small ?? false;
  await zarr.create(root, {
    attributes: { tfjs_zarr_demo: { version: DEMO_FORMAT_VERSION, seed, small, ...layoutField(options) } },
  });
  if (demoLayout(options) === 'crops') {
    await zarr.create(root.resolve('train'));
    await zarr.create(root.resolve('test'));
  }

  for (const spec of demoCropSpecs(options)) {
    if (spec.path !== '') await zarr.create(root.resolve(spec.path));
    const vs = spec.voxelSize;
    const rawShape = spec.rawRoi.shape.map((s, a) => s / vs[a]!) as [number, number, number];
    const labelsShape = spec.labelsRoi.shape.map((s, a) => s / vs[a]!) as [number, number, number];
    // Noise at EM-like levels: thresholding raw no longer segments the cells (see the demo's baselines).
    const vol = syntheticCrop({ shape: rawShape, seed: spec.seed, voxelSize: vs, noise: DEMO_NOISE });

    // Raw, stored in its dtype.
    const n = vol.raw.length;
    let raw: AnyData;
    if (spec.rawDtype === 'uint8') {
      raw = new Uint8Array(n);
      for (let i = 0; i < n; i++) raw[i] = Math.round(vol.raw[i]! * 255);
    } else if (spec.rawDtype === 'uint16') {
      raw = new Uint16Array(n);
      for (let i = 0; i < n; i++) raw[i] = Math.round(vol.raw[i]! * 65535);
    } else {
      raw = vol.raw;
    }
    await writeArray(
      root,
      join(spec.path, 'raw'),
      spec.rawDtype,
      rawShape,
      raw,
      spatialAttributes(vs, spec.rawRoi.offset),
    );

    // Labels: the synthetic ids over the labels region (a sub-box of raw).
    const start = spec.labelsRoi.offset.map((o, a) => (o - spec.rawRoi.offset[a]!) / vs[a]!);
    const [LZ, LY, LX] = labelsShape;
    const [, RY, RX] = rawShape;
    const m = LZ * LY * LX;
    const ids = new Uint32Array(m);
    for (let z = 0; z < LZ; z++)
      for (let y = 0; y < LY; y++) {
        const src = ((z + start[0]!) * RY + (y + start[1]!)) * RX + start[2]!;
        ids.set(vol.labels.subarray(src, src + LX), (z * LY + y) * LX);
      }
    let labels: Uint32Array | BigUint64Array = ids;
    if (spec.labelsDtype === 'uint64') {
      const big = new BigUint64Array(m);
      for (let i = 0; i < m; i++) big[i] = ids[i] === 0 ? 0n : BigInt(ids[i]!) + spec.labelIdOffset;
      labels = big;
    }
    await writeArray(
      root,
      join(spec.path, 'labels'),
      spec.labelsDtype,
      labelsShape,
      labels,
      spatialAttributes(vs, spec.labelsRoi.offset),
    );

    if (spec.maskZeroSlab) {
      const mask = new Uint8Array(m).fill(1);
      const { axis, from, to } = spec.maskZeroSlab;
      for (let z = 0; z < LZ; z++)
        for (let y = 0; y < LY; y++)
          for (let x = 0; x < LX; x++) {
            const c = axis === 0 ? z : axis === 1 ? y : x;
            if (c >= from && c < to) mask[(z * LY + y) * LX + x] = 0;
          }
      await writeArray(
        root,
        join(spec.path, 'mask'),
        'uint8',
        labelsShape,
        mask,
        spatialAttributes(vs, spec.labelsRoi.offset),
      );
    }
  }
  await writeFile(
    path.join(dir, COMPLETE_MARKER),
    `${JSON.stringify({
      version: DEMO_FORMAT_VERSION,
      seed,
      small,
      ...layoutField(options),
      written: new Date().toISOString(),
    })}\n`,
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** True when `dir` holds a finished demo container written with these options. */
export async function isDemoContainerComplete(dir: string, options: DemoOptions = {}): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(path.join(dir, COMPLETE_MARKER), 'utf8')) as Record<string, unknown>;
    return (
      marker['version'] === DEMO_FORMAT_VERSION &&
      marker['seed'] === (options.seed ?? 1) &&
      marker['small'] === (options.small ?? false) &&
      (marker['layout'] ?? 'crops') === demoLayout(options)
    );
  } catch {
    return false;
  }
}

/** Removes `dir` only if it is empty or one of our demo containers (never someone else's data). */
async function removeOurs(dir: string): Promise<void> {
  if (!(await exists(dir))) return;
  const entries = await readdir(dir);
  if (entries.length > 0) {
    let ours = false;
    try {
      const meta = JSON.parse(await readFile(path.join(dir, 'zarr.json'), 'utf8')) as {
        attributes?: Record<string, unknown>;
      };
      ours = meta.attributes?.['tfjs_zarr_demo'] != null;
    } catch {
      ours = false;
    }
    if (!ours) {
      throw new Error(`${dir} exists and is not a tfjs-zarr demo container; refusing to overwrite it`);
    }
  }
  await rm(dir, { recursive: true, force: true });
}

/**
 * Writes the demo container at `dir` (replacing an earlier demo container there; any other
 * existing content is an error). Built in a temporary sibling and renamed into place.
 */
export async function writeDemoContainer(dir: string, options: DemoOptions = {}): Promise<void> {
  const target = path.resolve(dir);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await mkdir(tmp, { recursive: true });
    await buildContainer(tmp, options);
    await removeOurs(target);
    try {
      await rename(tmp, target);
    } catch (err) {
      // Another process may have finished the same container first.
      if (await isDemoContainerComplete(target, options)) return;
      throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Writes the demo container at `dir` unless a complete one with the same options is already
 * there. Returns true when it was (re)generated.
 */
export async function ensureDemoContainer(dir: string, options: DemoOptions = {}): Promise<boolean> {
  if (await isDemoContainerComplete(dir, options)) return false;
  await writeDemoContainer(dir, options);
  return true;
}
