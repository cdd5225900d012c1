/**
 * An OpenOrganelle-style N5 container written locally, laid out as the COSEM datasets are on their
 * bucket (`s3://janelia-cosem-datasets/<dataset>/<dataset>.n5`):
 *
 *   <name>.n5/em/fibsem-uint8/{s0,s1,s2}    raw at 4, 8, 16 nm (2× block means), uint8
 *   <name>.n5/labels/cell_seg/{s0,s1}       instance ids at 4 and 8 nm, uint64
 *
 * Each group is a COSEM multiscale (`multiscales[0].datasets[i] = {path, transform}`) and each
 * level carries its `transform` (`axes`, `ordering` "C", `scale`, `translate`, `units`), the
 * translations placing voxel centres as the published data does (s1: 2 nm, s2: 6 nm). Blocks are
 * gzip-compressed, big-endian, with n5-java's truncated edge blocks. Written with plain Node: a
 * small N5 writer for this example only (the library reads N5; it writes zarr).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeDirAtomically } from '../../src/fs/atomic-dir.js';
import { DEMO_NOISE } from './write-container.js';
import { syntheticCrop } from './synthetic.js';

type Data = Uint8Array | BigUint64Array;

async function writeAttributes(dir: string, attrs: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'attributes.json'), `${JSON.stringify(attrs, null, 1)}\n`);
}

/** One N5 dataset: `shape` and `block` in C order [z, y, x]; blocks stored at `x/y/z`. */
async function writeDataset(dir: string, data: Data, shape: number[], block: number[], attrs: Record<string, unknown>) {
  const dataType = data instanceof Uint8Array ? 'uint8' : 'uint64';
  await writeAttributes(dir, {
    dimensions: [...shape].reverse(),
    blockSize: [...block].reverse(),
    dataType,
    compression: { type: 'gzip', level: 6 },
    ...attrs,
  });
  const [Z, Y, X] = shape as [number, number, number];
  const bytes = data.BYTES_PER_ELEMENT;
  for (let bz = 0; bz * block[0]! < Z; bz++)
    for (let by = 0; by * block[1]! < Y; by++)
      for (let bx = 0; bx * block[2]! < X; bx++) {
        const lo = [bz * block[0]!, by * block[1]!, bx * block[2]!];
        const size = lo.map((l, a) => Math.min(block[a]!, shape[a]! - l)); // truncated at the edges
        const header = Buffer.alloc(4 + 4 * 3);
        header.writeUInt16BE(0, 0); // mode 0
        header.writeUInt16BE(3, 2);
        for (const [i, n] of [...size].reverse().entries()) header.writeUInt32BE(n, 4 + 4 * i);
        const body = Buffer.alloc(size[0]! * size[1]! * size[2]! * bytes);
        let o = 0;
        for (let z = 0; z < size[0]!; z++)
          for (let y = 0; y < size[1]!; y++)
            for (let x = 0; x < size[2]!; x++, o += bytes) {
              const v = data[((lo[0]! + z) * Y + lo[1]! + y) * X + lo[2]! + x]!;
              if (typeof v === 'bigint') body.writeBigUInt64BE(v, o);
              else body.writeUInt8(v, o);
            }
        const file = path.join(dir, String(bx), String(by), String(bz));
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, Buffer.concat([header, gzipSync(body)]));
      }
}

/** 2× block mean of a uint8 volume (edges: the voxels there are). */
function meanDown(data: Uint8Array, shape: number[]): { data: Uint8Array; shape: number[] } {
  const [Z, Y, X] = shape as [number, number, number];
  const out = [Math.ceil(Z / 2), Math.ceil(Y / 2), Math.ceil(X / 2)] as [number, number, number];
  const sum = new Float64Array(out[0] * out[1] * out[2]);
  const count = new Float64Array(sum.length);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const i = ((z >> 1) * out[1] + (y >> 1)) * out[2] + (x >> 1);
        sum[i]! += data[(z * Y + y) * X + x]!;
        count[i]!++;
      }
  return { data: Uint8Array.from(sum, (s, i) => Math.round(s / count[i]!)), shape: out };
}

/** Every other voxel of a label volume (ids are never averaged). */
function subsample(data: BigUint64Array, shape: number[]): { data: BigUint64Array; shape: number[] } {
  const [Z, Y, X] = shape as [number, number, number];
  const out = [Math.ceil(Z / 2), Math.ceil(Y / 2), Math.ceil(X / 2)] as [number, number, number];
  const result = new BigUint64Array(out[0] * out[1] * out[2]);
  for (let z = 0; z < out[0]; z++)
    for (let y = 0; y < out[1]; y++)
      for (let x = 0; x < out[2]; x++) result[(z * out[1] + y) * out[2] + x] = data[(2 * z * Y + 2 * y) * X + 2 * x]!;
  return { data: result, shape: out };
}

const transform = (level: number) => {
  const s = 4 * 2 ** level;
  const t = (s - 4) / 2; // voxel centres: half a finer voxel per level
  return { axes: ['z', 'y', 'x'], ordering: 'C', scale: [s, s, s], translate: [t, t, t], units: ['nm', 'nm', 'nm'] };
};

/** Writes `<dir>` (a folder ending in .n5) with cells of `shape` voxels at 4 nm. */
export async function writeOpenOrganelleN5(dir: string, shape: [number, number, number], seed = 21): Promise<void> {
  const cells = syntheticCrop({ shape, seed, noise: DEMO_NOISE, membraneWidth: 2, voxelSize: [4, 4, 4] });
  const block = [32, 32, 32];
  await writeDirAtomically(dir, async (tmp) => {
    await writeAttributes(tmp, { n5: '2.3.0' });
    const groups: [string, { data: Data; shape: number[] }[]][] = [];
    let raw: { data: Uint8Array; shape: number[] } = {
      data: Uint8Array.from(cells.raw, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
      shape: [...shape],
    };
    const rawLevels = [raw];
    for (let i = 1; i < 3; i++) {
      raw = meanDown(raw.data, raw.shape);
      rawLevels.push(raw);
    }
    const ids = { data: BigUint64Array.from(cells.labels, (v) => BigInt(v)), shape: [...shape] };
    groups.push(['em/fibsem-uint8', rawLevels], ['labels/cell_seg', [ids, subsample(ids.data, ids.shape)]]);
    for (const top of ['em', 'labels']) await writeAttributes(path.join(tmp, top), {});
    for (const [group, levels] of groups) {
      await writeAttributes(path.join(tmp, group), {
        multiscales: [
          { name: group.split('/')[1], datasets: levels.map((_, i) => ({ path: `s${i}`, transform: transform(i) })) },
        ],
      });
      for (const [i, level] of levels.entries()) {
        await writeDataset(path.join(tmp, group, `s${i}`), level.data, level.shape, block, { transform: transform(i) });
      }
    }
  });
}
