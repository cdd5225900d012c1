/** Worker slots from options and from the environment of SLURM, Kubernetes and AWS Batch array jobs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockGrid,
  blockIndexAt,
  blocksOfWorker,
  parseArrayLocation,
  resolveWorkerSlot,
} from '../../src/apply/index.js';
import { roi } from '../../src/index.js';

test('worker index and count from each scheduler, options first', () => {
  const slot = (env: Record<string, string>, options = {}) => {
    const s = resolveWorkerSlot(options, env);
    return [s.worker, s.workers, s.source];
  };
  assert.deepEqual(slot({}), [0, 1, 'single']);
  assert.deepEqual(slot({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '8' }), [
    3,
    8,
    'SLURM',
  ]);
  assert.deepEqual(
    slot({
      SLURM_ARRAY_TASK_ID: '6',
      SLURM_ARRAY_TASK_MIN: '0',
      SLURM_ARRAY_TASK_MAX: '10',
      SLURM_ARRAY_TASK_STEP: '2',
    }),
    [3, 6, 'SLURM'],
  );
  assert.deepEqual(slot({ JOB_COMPLETION_INDEX: '2', TFJS_ZARR_WORKERS: '5' }), [2, 5, 'Kubernetes']);
  assert.deepEqual(slot({ AWS_BATCH_JOB_ARRAY_INDEX: '9', AWS_BATCH_JOB_ARRAY_SIZE: '10' }), [9, 10, 'AWS Batch']);
  assert.deepEqual(slot({ TFJS_ZARR_WORKER: '1', TFJS_ZARR_WORKERS: '2' }), [1, 2, 'TFJS_ZARR_WORKER']);
  assert.deepEqual(slot({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }, { worker: 0, workers: 2 }), [
    0,
    2,
    'options',
  ]);
  assert.throws(
    () => resolveWorkerSlot({}, { JOB_COMPLETION_INDEX: '2' }),
    /TFJS_ZARR_WORKERS is not: set it to the Job's completions/,
  );
  assert.throws(
    () => resolveWorkerSlot({}, { AWS_BATCH_JOB_ARRAY_INDEX: '2' }),
    /AWS_BATCH_JOB_ARRAY_SIZE nor TFJS_ZARR_WORKERS/,
  );
  assert.throws(() => resolveWorkerSlot({ worker: 3, workers: 3 }, {}), /worker must be an integer in \[0, 2\]/);
  assert.throws(
    () => resolveWorkerSlot({}, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '3' }),
    /use a contiguous array/,
  );
});

test('block grid: blocks cover the ROI once, clipped at its end; workers split it', () => {
  const grid = blockGrid(roi([8, 0, -4], [40, 20, 12]), [4, 2, 2], [4, 4, 4]);
  assert.deepEqual(grid.gridShape, [3, 3, 2]);
  assert.deepEqual(grid.blocks.at(-1)!.voxelShape, [2, 2, 2]);
  assert.deepEqual(grid.blocks[1]!.roi, { offset: [8, 0, 4], shape: [16, 8, 4] });
  assert.equal(blockIndexAt(grid, [9, 9, 5]), grid.blocks.length - 1);
  const shares = [0, 1, 2].map((w) => blocksOfWorker(grid, w, 3).map((b) => b.index));
  assert.deepEqual(
    shares.flat().sort((a, b) => a - b),
    grid.blocks.map((b) => b.index),
  );
  assert.deepEqual(parseArrayLocation('runs/out.zarr/test/prediction'), {
    container: 'runs/out.zarr',
    path: 'test/prediction',
  });
  assert.deepEqual(parseArrayLocation('https://host/data.zarr/raw'), {
    container: 'https://host/data.zarr',
    path: 'raw',
  });
  assert.deepEqual(parseArrayLocation('folder/raw'), { container: 'folder', path: 'raw' });
});
