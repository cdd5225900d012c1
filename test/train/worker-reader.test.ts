/**
 * WorkerReader's split of a read among its workers (train/workers/reader.ts bandPieces): every
 * chunk slab belongs to one worker whatever the read (so a chunk is decoded by one worker only),
 * the pieces tile the read along the first spatial axis in order, and a read inside one worker's
 * band is one piece. (That reads through workers equal volume.read: test/train/workers.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { openDataSplit, roi, type Roi } from '../../src/index.js';
import { bandPieces } from '../../src/train/workers/reader.js';
import type { ZarrVolume } from '../../src/zarr/volume.js';
import { fixturePath } from '../helpers/fixtures.js';

/** simple.zarr raw: 12 voxels along z in chunks of 5 (3 slabs), voxel size 4, offset 0. */
async function simpleRaw(): Promise<ZarrVolume> {
  const split = await openDataSplit(fixturePath('simple.zarr'));
  return split.train[0]!.raw as ZarrVolume;
}

function assertTiles(pieces: { roi: Roi }[], r: Roi): void {
  let z = r.offset[0]!;
  for (const p of pieces) {
    assert.equal(p.roi.offset[0], z);
    assert.deepEqual(p.roi.offset.slice(1), r.offset.slice(1));
    assert.deepEqual(p.roi.shape.slice(1), r.shape.slice(1));
    z += p.roi.shape[0]!;
  }
  assert.equal(z, r.offset[0]! + r.shape[0]!);
}

test('bandPieces: two workers own slabs {0, 1} and {2}; a read is cut only where the band changes', async () => {
  const raw = await simpleRaw();
  const whole = roi([-8, 0, 0], [12 * 4 + 16, 56, 64]); // beyond the array on both sides
  const pieces = bandPieces(raw, whole, 2);
  assertTiles(pieces, whole);
  assert.deepEqual(
    pieces.map((p) => [p.roi.offset[0], p.roi.shape[0], p.worker]),
    [
      [-8, 48, 0], // outside, slab 0 and slab 1 (z < 40): worker 0
      [40, 16, 1], // slab 2 and beyond: worker 1
    ],
  );
  const inside = roi([4, 4, 4], [28, 8, 8]); // within slabs 0 and 1
  assert.deepEqual(
    bandPieces(raw, inside, 2).map((p) => p.worker),
    [0],
  );
  assert.deepEqual(bandPieces(raw, inside, 2)[0]!.roi, inside);
  assert.deepEqual(
    bandPieces(raw, whole, 1).map((p) => [p.roi.shape[0], p.worker]),
    [[64, 0]],
  );
});

test('bandPieces: each slab has the same worker in every read, bands are contiguous and in order', async () => {
  const raw = await simpleRaw();
  const rng = seedrandom('bands');
  const chunk = 5 * 4;
  for (const workers of [2, 3, 4]) {
    const ownerOf = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const z = 4 * Math.floor(rng() * 16) - 8;
      const r = roi([z, 0, 0], [4 * (1 + Math.floor(rng() * 14)), 4, 4]);
      const pieces = bandPieces(raw, r, workers);
      assertTiles(pieces, r);
      for (let k = 0; k < pieces.length; k++) {
        const p = pieces[k]!;
        if (k > 0) assert.ok(p.worker > pieces[k - 1]!.worker, 'bands in order, one piece each');
        for (let a = p.roi.offset[0]!; a < p.roi.offset[0]! + p.roi.shape[0]!; a += 4) {
          const slab = Math.min(2, Math.max(0, Math.floor(a / chunk)));
          assert.equal(ownerOf.get(slab) ?? p.worker, p.worker, `slab ${slab} always with one worker`);
          ownerOf.set(slab, p.worker);
        }
      }
    }
    for (const [slab, worker] of ownerOf) assert.equal(worker, Math.floor((slab * workers) / 3));
  }
});
