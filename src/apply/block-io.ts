/**
 * Moving one block between memory and chunks: a block's values, channels-last C order
 * ([z, y, x, c], as predictions come out of the model; [z, y, x] for labels), are cut into the
 * output's chunks (channels-first for an array with a `c^` axis, as funlib stores them), converted
 * to the stored dtype, and written. Blocks cover whole chunks (see grid.ts).
 */
import { emptyChunk, type ChunkData } from '../zarr/write/encode.js';
import type { ZarrArrayWriter } from '../zarr/write/file-store.js';
import type { Block } from './blocks.js';

/** Probabilities in [0, 1] → uint8 (× 255, rounded; NaN → 0). */
export function toUint8(v: number): number {
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}

export async function writeBlockChunks(
  writer: ZarrArrayWriter,
  block: Block,
  values: Float32Array | BigUint64Array,
): Promise<void> {
  const spec = writer.spec;
  const hasChannels = spec.shape.length === 4;
  const C = hasChannels ? spec.shape[0]! : 1;
  const [cz, cy, cx] = spec.chunks.slice(-3) as [number, number, number];
  const [by, bx] = [block.voxelShape[1]!, block.voxelShape[2]!];
  if (values.length !== block.voxelShape.reduce((a, b) => a * b, 1) * C) {
    throw new Error(`block ${block.index}: ${values.length} values for shape [${block.voxelShape.join(', ')}] × ${C}`);
  }
  const toByte = spec.dtype === 'uint8' && values instanceof Float32Array;
  const writes: Promise<void>[] = [];
  const lo = block.voxelOffset.map((o, i) => Math.floor(o / spec.chunks[i + (hasChannels ? 1 : 0)]!));
  const hi = block.voxelOffset.map((o, i) =>
    Math.ceil((o + block.voxelShape[i]!) / spec.chunks[i + (hasChannels ? 1 : 0)]!),
  );
  for (let gz = lo[0]!; gz < hi[0]!; gz++) {
    for (let gy = lo[1]!; gy < hi[1]!; gy++) {
      for (let gx = lo[2]!; gx < hi[2]!; gx++) {
        // Chunk origin inside the block, and the part of the chunk the block holds.
        const oz = gz * cz - block.voxelOffset[0]!;
        const oy = gy * cy - block.voxelOffset[1]!;
        const ox = gx * cx - block.voxelOffset[2]!;
        const nz = Math.min(cz, block.voxelShape[0]! - oz);
        const ny = Math.min(cy, by - oy);
        const nx = Math.min(cx, bx - ox);
        const chunk = emptyChunk(spec);
        for (let c = 0; c < C; c++) {
          for (let z = 0; z < nz; z++) {
            for (let y = 0; y < ny; y++) {
              const dst = ((c * cz + z) * cy + y) * cx;
              const src = (((z + oz) * by + (y + oy)) * bx + ox) * C + c;
              if (C === 1 && !toByte) {
                (chunk as Float32Array).set((values as Float32Array).subarray(src, src + nx), dst);
              } else if (toByte) {
                const v = values as Float32Array;
                for (let x = 0; x < nx; x++) chunk[dst + x] = toUint8(v[src + x * C]!);
              } else {
                const d = chunk as Float32Array;
                const v = values as Float32Array;
                for (let x = 0; x < nx; x++) d[dst + x] = v[src + x * C]!;
              }
            }
          }
        }
        const coords = hasChannels ? [0, gz, gy, gx] : [gz, gy, gx];
        writes.push(writer.writeChunk(coords, chunk as ChunkData));
      }
    }
  }
  await Promise.all(writes);
}
