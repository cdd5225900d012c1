/**
 * Arrays written by our zarr writer (src/zarr/write), for zarr-python to read:
 *   node --import tsx scripts/make_write_fixtures.ts   → test/fixtures-write/written.zarr
 *   /usr/bin/python3 scripts/check_write_fixtures.py   → test/fixtures-write/written.expected.json
 * Deterministic (gzip without time stamps): the test rewrites the container and checks it has the
 * same bytes, so what zarr-python read is what the writer still writes.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBlockChunks } from '../src/apply/block-io.js';
import { roi } from '../src/roi.js';
import { type ArraySpec, funlibAttributes, ZarrArrayWriter } from '../src/zarr/write/index.js';

export const SHAPE = [5, 6, 7];
export const VOXEL_SIZE = [4, 2, 2];
export const OFFSET = [8, -4, 6];

/** Channels-last values [z, y, x, c] of each array. */
export function fixtureValues(name: string): Float32Array | BigUint64Array {
  const n = SHAPE[0]! * SHAPE[1]! * SHAPE[2]!;
  if (name === 'segmentation') {
    // ids above 2^32 and 2^53, the largest uint64, and background
    return BigUint64Array.from({ length: n }, (_, i) =>
      i % 11 === 0 ? 0n : i === 1 ? 2n ** 64n - 1n : 2n ** 53n + BigInt(i % 5) * 2n ** 32n + BigInt(i % 3),
    );
  }
  const channels = name === 'prediction' || name === 'prediction_v3' ? 2 : 1;
  return Float32Array.from({ length: n * channels }, (_, i) => ((i * 7919) % 1000) / 999);
}

export const FIXTURE_ARRAYS: Record<string, Omit<ArraySpec, 'attributes'> & { channels: boolean }> = {
  prediction: {
    format: 2,
    shape: [2, ...SHAPE],
    chunks: [2, 3, 4, 4],
    dtype: 'float32',
    compressor: 'gzip',
    channels: true,
  },
  probabilities: {
    format: 2,
    shape: [1, ...SHAPE],
    chunks: [1, 5, 3, 7],
    dtype: 'uint8',
    compressor: 'none',
    channels: true,
  },
  segmentation: { format: 2, shape: SHAPE, chunks: [3, 3, 3], dtype: 'uint64', compressor: 'zlib', channels: false },
  prediction_v3: {
    format: 3,
    shape: [2, ...SHAPE],
    chunks: [2, 3, 4, 4],
    dtype: 'float32',
    compressor: 'gzip',
    channels: true,
  },
};

export async function writeFixtures(container: string): Promise<void> {
  await rm(container, { recursive: true, force: true });
  for (const [name, spec] of Object.entries(FIXTURE_ARRAYS)) {
    const writer = await ZarrArrayWriter.create(
      { container, path: name },
      {
        ...spec,
        attributes: funlibAttributes({
          voxelSize: VOXEL_SIZE,
          offset: OFFSET,
          units: ['nanometer', 'nanometer', 'nanometer'],
          channels: spec.channels,
        }),
        dimensionNames: spec.channels ? ['c^', 'z', 'y', 'x'] : ['z', 'y', 'x'],
      },
    );
    const whole = {
      index: 0,
      coords: [0, 0, 0],
      voxelOffset: [0, 0, 0],
      voxelShape: SHAPE,
      roi: roi(
        OFFSET,
        SHAPE.map((s, i) => s * VOXEL_SIZE[i]!),
      ),
    };
    await writeBlockChunks(writer, whole, fixtureValues(name));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  await writeFixtures(path.join(here, '..', 'test', 'fixtures-write', 'written.zarr'));
}
