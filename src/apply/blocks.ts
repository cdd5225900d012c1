/**
 * The block grid of a blockwise job: a world ROI cut into blocks of `blockShape` voxels starting
 * at the ROI's offset (the last block on each axis clipped at the ROI's end). The output array
 * starts at the same offset and its chunks divide the block shape, so every block covers whole
 * chunks and two blocks never share a chunk: concurrent writers never touch the same file.
 */
import { OptionsError } from '../errors.js';
import { roi, roiVoxelShape, type Roi } from '../roi.js';

export interface Block {
  /** Position in the grid's raster order (z slowest): the block's name in markers and logs. */
  index: number;
  /** Block coordinates in the grid. */
  coords: number[];
  /** First voxel, relative to the grid's ROI. */
  voxelOffset: number[];
  /** Voxels (clipped at the ROI's end). */
  voxelShape: number[];
  /** The block in world units. */
  roi: Roi;
}

export interface BlockGrid {
  roi: Roi;
  voxelSize: number[];
  /** ROI shape in voxels. */
  shape: number[];
  blockShape: number[];
  /** Blocks per axis. */
  gridShape: number[];
  blocks: Block[];
}

export function blockGrid(region: Roi, voxelSize: readonly number[], blockShape: readonly number[]): BlockGrid {
  const shape = roiVoxelShape(region, voxelSize);
  if (blockShape.length !== shape.length || blockShape.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new OptionsError(`block shape [${blockShape.join(', ')}] must be ${shape.length} positive integers (voxels)`);
  }
  const gridShape = shape.map((n, i) => Math.ceil(n / blockShape[i]!));
  const blocks: Block[] = [];
  const total = gridShape.reduce((a, b) => a * b, 1);
  for (let index = 0; index < total; index++) {
    const coords = unravel(index, gridShape);
    const voxelOffset = coords.map((c, i) => c * blockShape[i]!);
    const voxelShape = voxelOffset.map((o, i) => Math.min(blockShape[i]!, shape[i]! - o));
    blocks.push({
      index,
      coords,
      voxelOffset,
      voxelShape,
      roi: roi(
        voxelOffset.map((o, i) => region.offset[i]! + o * voxelSize[i]!),
        voxelShape.map((s, i) => s * voxelSize[i]!),
      ),
    });
  }
  return { roi: region, voxelSize: [...voxelSize], shape, blockShape: [...blockShape], gridShape, blocks };
}

/** Raster index → coordinates over `shape` (C order). */
export function unravel(index: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    coords[i] = index % shape[i]!;
    index = Math.floor(index / shape[i]!);
  }
  return coords;
}

/** The block holding a voxel (relative to the grid's ROI), or -1 outside. */
export function blockIndexAt(grid: BlockGrid, voxel: readonly number[]): number {
  let index = 0;
  for (let i = 0; i < voxel.length; i++) {
    const v = voxel[i]!;
    if (v < 0 || v >= grid.shape[i]!) return -1;
    index = index * grid.gridShape[i]! + Math.floor(v / grid.blockShape[i]!);
  }
  return index;
}

/** The blocks worker `worker` of `workers` owns: every `workers`-th block, starting at `worker`. */
export function blocksOfWorker(grid: BlockGrid, worker: number, workers: number): Block[] {
  return grid.blocks.filter((b) => b.index % workers === worker);
}
