/**
 * A serial-section EM stack stored as PNG sections (one raw image and one membrane label image per
 * section, as the ISBI 2012 challenge and its many copies ship it) → a zarr container in DaCapo's
 * crops layout:
 *
 * ```
 * <out>/train/crop_a/{raw,labels}   first half of the sections, left half of each image
 * <out>/train/crop_b/{raw,labels}   first half of the sections, right half
 * <out>/test/crop_c/{raw,labels}    second half of the sections, left half
 * <out>/test/crop_d/{raw,labels}    second half of the sections, right half
 * ```
 *
 * Raw is uint8 as stored (the first channel of a colour PNG). The label images mark membranes dark
 * and cells bright; cells become instance ids by 2D connected components of each section
 * (4-connected), numbered per crop, membranes 0 (background: not scored). Each crop sits at its
 * place in the stack in world units (`offset`), with funlib attributes (`voxel_size`, `units` nm).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { connectedComponents } from '../../src/eval/components.js';
import { encodePng } from '../../src/report/png.js';
import { funlibAttributes, ZarrArrayWriter, type WritableDType } from '../../src/zarr/write/index.js';
import { syntheticCrop } from '../synthetic/synthetic.js';

/** A stack of sections, C order [z, y, x]. */
export interface Stack {
  data: Uint8Array;
  shape: [number, number, number];
}

/** PNG files of a folder in numeric order of their names (0.png, 1.png, …, 10.png). */
export async function pngFiles(dir: string): Promise<string[]> {
  const names = (await fsp.readdir(dir)).filter((n) => n.toLowerCase().endsWith('.png'));
  if (names.length === 0) throw new Error(`${dir}: no .png sections`);
  const key = (n: string) => Number(/(\d+)/.exec(n)?.[1] ?? Number.NaN);
  names.sort((a, b) => key(a) - key(b) || a.localeCompare(b));
  return names.map((n) => path.join(dir, n));
}

/** The sections of `files` (8-bit; the first channel of colour images), all of one size. */
export async function readPngStack(files: readonly string[]): Promise<Stack> {
  let shape: [number, number, number] | null = null;
  let data = new Uint8Array(0);
  for (const [z, file] of files.entries()) {
    const png = PNG.sync.read(await fsp.readFile(file));
    if (shape === null) {
      shape = [files.length, png.height, png.width];
      data = new Uint8Array(shape[0] * shape[1] * shape[2]);
    } else if (png.height !== shape[1] || png.width !== shape[2]) {
      throw new Error(`${file}: ${png.width}×${png.height} pixels, the first section has ${shape[2]}×${shape[1]}`);
    }
    const plane = shape[1] * shape[2];
    const depth16 = png.depth === 16;
    // pngjs hands out RGBA, 8 bits per channel unless the file has 16 (then 2 bytes, big endian).
    for (let i = 0; i < plane; i++) data[z * plane + i] = depth16 ? png.data[i * 8]! : png.data[i * 4]!;
  }
  return { data, shape: shape! };
}

/** Per-section 2D components (4-connected) of `foreground` ([z, y, x]), ids 1, 2, … unique over the stack, 0 elsewhere. */
export function sectionComponents(foreground: Uint8Array, shape: readonly number[]): Uint32Array {
  const [Z, Y, X] = shape as [number, number, number];
  const plane = Y * X;
  const out = new Uint32Array(foreground.length);
  let next = 0;
  for (let z = 0; z < Z; z++) {
    const { labels, count } = connectedComponents(foreground.subarray(z * plane, (z + 1) * plane), [1, Y, X]);
    for (let i = 0; i < plane; i++) out[z * plane + i] = labels[i] === 0 ? 0 : labels[i]! + next;
    next += count;
  }
  return out;
}

/** Instance ids from membrane label sections: pixels above `threshold` are cells, each section's components one id each. */
export function sectionInstances(labels: Stack, threshold = 127): Uint32Array {
  return sectionComponents(
    labels.data.map((v) => (v > threshold ? 1 : 0)),
    labels.shape,
  );
}

export interface CropBox {
  name: string;
  split: 'train' | 'test';
  /** Voxel ranges [begin, end) in the stack, per axis z, y, x. */
  box: [[number, number], [number, number], [number, number]];
}

/** Two train crops (first half of the sections) and two test crops (second half), each half an image wide. */
export function defaultCropBoxes(shape: readonly number[]): CropBox[] {
  const [Z, Y, X] = shape as [number, number, number];
  if (Z < 2) throw new Error(`a stack of ${Z} section(s) cannot be split into train and test sections`);
  const zHalf = Math.floor(Z / 2);
  const xHalf = Math.floor(X / 2);
  const crop = (name: string, split: 'train' | 'test', z: [number, number], x: [number, number]): CropBox => ({
    name,
    split,
    box: [z, [0, Y], x],
  });
  return [
    crop('crop_a', 'train', [0, zHalf], [0, xHalf]),
    crop('crop_b', 'train', [0, zHalf], [xHalf, X]),
    crop('crop_c', 'test', [zHalf, Z], [0, xHalf]),
    crop('crop_d', 'test', [zHalf, Z], [xHalf, X]),
  ];
}

/** The voxels of `box` out of a [z, y, x] stack. */
function cut<T extends Uint8Array | Uint32Array>(data: T, shape: readonly number[], box: CropBox['box']): T {
  const [, Y, X] = shape as [number, number, number];
  const [[z0, z1], [y0, y1], [x0, x1]] = box;
  const out = new (data.constructor as new (n: number) => T)((z1 - z0) * (y1 - y0) * (x1 - x0));
  let o = 0;
  for (let z = z0; z < z1; z++) {
    for (let y = y0; y < y1; y++) {
      const src = (z * Y + y) * X;
      out.set(data.subarray(src + x0, src + x1), o);
      o += x1 - x0;
    }
  }
  return out;
}

/** One array, chunk by chunk (zarr v2, gzip), with funlib attributes. */
async function writeArray(
  container: string,
  arrayPath: string,
  values: Uint8Array | Uint32Array,
  shape: readonly number[],
  placement: { voxelSize: readonly number[]; offset: readonly number[] },
): Promise<void> {
  const chunks = shape.map((s, i) => Math.min(s, i === 0 ? 8 : 128));
  const dtype: WritableDType = values instanceof Uint8Array ? 'uint8' : 'uint32';
  const writer = await ZarrArrayWriter.create(
    { container, path: arrayPath },
    {
      format: 2,
      shape,
      chunks,
      dtype,
      compressor: 'gzip',
      attributes: funlibAttributes({ ...placement, units: ['nm', 'nm', 'nm'], channels: false }),
    },
    { overwrite: true, durable: false },
  );
  const grid = shape.map((s, i) => Math.ceil(s / chunks[i]!));
  for (let gz = 0; gz < grid[0]!; gz++) {
    for (let gy = 0; gy < grid[1]!; gy++) {
      for (let gx = 0; gx < grid[2]!; gx++) {
        const begin = [gz, gy, gx].map((g, i) => g * chunks[i]!);
        const box = begin.map((b, i) => [b, Math.min(b + chunks[i]!, shape[i]!)]) as CropBox['box'];
        const part = cut(values, shape, box);
        // A whole chunk, zero beyond the array's end.
        const chunk = new (values.constructor as new (n: number) => Uint8Array | Uint32Array)(
          chunks[0]! * chunks[1]! * chunks[2]!,
        );
        const [nz, ny, nx] = box.map(([b, e]) => e - b) as [number, number, number];
        for (let z = 0; z < nz; z++)
          for (let y = 0; y < ny; y++)
            chunk.set(part.subarray((z * ny + y) * nx, (z * ny + y + 1) * nx), (z * chunks[1]! + y) * chunks[2]!);
        await writer.writeChunk([gz, gy, gx], chunk);
      }
    }
  }
}

/**
 * Writes the crops of a stack into `out` (replacing what is there): raw and instance labels per
 * crop, each at its place in the stack (world offset = first voxel × voxel size).
 */
export async function writeStackContainer(
  out: string,
  stack: { raw: Stack; instances: Uint32Array; voxelSize: readonly number[] },
  crops: readonly CropBox[] = defaultCropBoxes(stack.raw.shape),
): Promise<void> {
  await fsp.rm(out, { recursive: true, force: true });
  for (const c of crops) {
    const shape = c.box.map(([b, e]) => e - b);
    const placement = { voxelSize: stack.voxelSize, offset: c.box.map(([b], i) => b * stack.voxelSize[i]!) };
    const group = `${c.split}/${c.name}`;
    await writeArray(out, `${group}/raw`, cut(stack.raw.data, stack.raw.shape, c.box), shape, placement);
    await writeArray(out, `${group}/labels`, cut(stack.instances, stack.raw.shape, c.box), shape, placement);
  }
}

/** PNG folders of raw and membrane labels → the container; returns the stack's shape. */
export async function pngStackToZarr(options: {
  images: string;
  labels: string;
  out: string;
  voxelSize: readonly number[];
}): Promise<[number, number, number]> {
  const [imageFiles, labelFiles] = await Promise.all([pngFiles(options.images), pngFiles(options.labels)]);
  if (imageFiles.length !== labelFiles.length) {
    throw new Error(
      `${imageFiles.length} raw sections in ${options.images} but ${labelFiles.length} label sections in ${options.labels}`,
    );
  }
  const raw = await readPngStack(imageFiles);
  const labels = await readPngStack(labelFiles);
  if (labels.shape.some((s, i) => s !== raw.shape[i])) {
    throw new Error(`label sections are [${labels.shape.join(', ')}], raw sections [${raw.shape.join(', ')}]`);
  }
  await writeStackContainer(options.out, { raw, instances: sectionInstances(labels), voxelSize: options.voxelSize });
  return raw.shape;
}

/**
 * A synthetic serial-section stack as PNG sections (for smoke runs and tests without the real
 * data): Voronoi cells with dark membranes at `voxelSize` (thick sections), raw in `<dir>/image`,
 * membranes black and cells white in `<dir>/label`, like the ISBI 2012 files.
 */
export async function writeSyntheticPngStack(
  dir: string,
  options: { shape: [number, number, number]; voxelSize: [number, number, number]; seed?: number },
): Promise<void> {
  const [Z, Y, X] = options.shape;
  const crop = syntheticCrop({ shape: options.shape, voxelSize: options.voxelSize, seed: options.seed ?? 1 });
  const plane = Y * X;
  for (const kind of ['image', 'label'] as const) {
    await fsp.mkdir(path.join(dir, kind), { recursive: true });
    for (let z = 0; z < Z; z++) {
      const gray = new Uint8Array(plane);
      for (let i = 0; i < plane; i++) {
        const v = z * plane + i;
        gray[i] = kind === 'image' ? Math.round(crop.raw[v]! * 255) : crop.labels[v] === 0 ? 0 : 255;
      }
      await fsp.writeFile(path.join(dir, kind, `${z}.png`), encodePng(X, Y, gray, 1));
    }
  }
}
