/**
 * Defaults planned from the data, nnU-Net's idea in small, for what a run config leaves out:
 *
 * - pooling per level and axis (`model.downsampleFactors`): an axis is pooled 2× at a level while
 *   its voxel size there is below twice the finest one (so 4×4×50 nm sections are pooled in-plane
 *   until y and x reach z), and while the input along it stays at least MIN_POOLED_SIZE voxels;
 * - kernel sizes per level (`model.kernelSizes`): 3 along the axes within 2× of the finest voxel
 *   size, 1 along the thicker ones; 3 along every axis at the bottom (nnU-Net's rule);
 * - the input shape (`inputShape`): about the same world extent along every axis, as large as
 *   PLAN_VOXEL_BUDGET input voxels and the smallest train crop allow, fitting the pooling;
 * - the affinity neighbourhood (`target.offsets`): in-plane where sections are thick (z at least
 *   twice the finest voxel size) and the labels show no object continuing across sections.
 *
 * Each choice comes with its reason, for `tfjs-zarr train` to print; the planned values go into
 * the run config before it is resolved, so the effective config holds them. Pure: the data comes
 * in as `DataFacts` (read by plan-data.ts).
 */
import { type Triple, type UNetSizeOptions, unetGeometry, unetValidInputShape } from '../models/unet.js';

/** Input voxels of a planned input shape, at most: the former default 16×48×48's memory. */
export const PLAN_VOXEL_BUDGET = 16 * 48 * 48;
/** An axis is pooled only while the input keeps at least this many voxels along it after pooling. */
export const MIN_POOLED_SIZE = 4;
/** Default number of poolings when the config gives no depth. */
export const PLAN_DEFAULT_DEPTH = 2;
/** Objects continue across sections when at least this fraction of z-neighbour pairs share an id. */
export const CONTINUITY_THRESHOLD = 0.25;

export interface DataFacts {
  /** Raw voxel size [z, y, x] (per axis the lower median over the train crops), world units. */
  voxelSize: number[];
  /** Units of the voxel size, for messages ('nm'). */
  units: string;
  /** Largest input in raw voxels per axis that fits every train crop. */
  maxInput: number[];
  /**
   * Of the labelled voxels whose z-neighbour is labelled too, the fraction with the same id
   * (objects continuing across sections); null when not measured (one section, no labels).
   */
  zContinuity: number | null;
}

export interface PlanChoice {
  /** Key path in the run config. */
  key: string;
  value: unknown;
  reason: string;
}

export interface RunPlan {
  /** The run config with the planned values filled in where it left them out. */
  json: Record<string, unknown>;
  choices: PlanChoice[];
  /** Remarks that change nothing (e.g. a target that does not suit the data). */
  notes: string[];
}

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
const fmt = (v: readonly number[]) => `[${v.join(', ')}]`;

/** Per level, which axes are within 2× of the finest voxel size at that level. */
function fineAxes(spacing: readonly number[]): boolean[] {
  const finest = Math.min(...spacing);
  return spacing.map((s) => s < 2 * finest);
}

/**
 * Pooling factors per level from the voxel size: 2 along the axes within 2× of the finest
 * voxel size, and only while `input` (when given) keeps MIN_POOLED_SIZE voxels and divides
 * (the finest is taken among the axes still long enough to pool).
 */
export function planPooling(voxelSize: readonly number[], depth: number, input?: readonly number[]): Triple[] {
  const spacing = [...voxelSize];
  const size = input ? [...input] : [Infinity, Infinity, Infinity];
  const levels: Triple[] = [];
  const fits = (n: number) => n === Infinity || (n % 2 === 0 && n / 2 >= MIN_POOLED_SIZE);
  for (let l = 0; l < depth; l++) {
    // The finest among the axes the input still lets us pool (a short axis must not stop the others).
    const poolable = size.map(fits);
    const finest = Math.min(...spacing.filter((_, a) => poolable[a]));
    const f = spacing.map((s, a) => (poolable[a] && s < 2 * finest ? 2 : 1)) as Triple;
    levels.push(f);
    for (let a = 0; a < 3; a++) {
      spacing[a]! *= f[a]!;
      size[a]! /= f[a]!;
    }
  }
  return levels;
}

/** Kernel sizes per level for `factors`: 3 along axes within 2× of the finest voxel size there, else 1; 3³ at the bottom. */
export function planKernels(voxelSize: readonly number[], factors: readonly (readonly number[])[]): Triple[] {
  const spacing = [...voxelSize];
  const kernels: Triple[] = [];
  for (const f of factors) {
    kernels.push(fineAxes(spacing).map((fine) => (fine ? 3 : 1)) as Triple);
    for (let a = 0; a < 3; a++) spacing[a]! *= f[a]!;
  }
  kernels.push([3, 3, 3]);
  return kernels;
}

/**
 * The input shape spanning about the same world extent E along every axis (each size the valid
 * model size nearest E / voxel size), for the largest E within `budget` voxels and `maxInput`.
 */
export function planInputShape(
  voxelSize: readonly number[],
  geometry: UNetSizeOptions,
  maxInput: readonly number[],
  budget = PLAN_VOXEL_BUDGET,
): number[] {
  const g = unetGeometry(geometry, () => undefined);
  const multiple = [0, 1, 2].map((a) => g.downsampleFactors.reduce((p, f) => p * f[a]!, 1));
  // Per axis: the nearest multiple of the pooling to extent / voxel size; null once it leaves a crop.
  const shapeFor = (extent: number): number[] | null => {
    const sizes = voxelSize.map((v, a) => Math.max(multiple[a]!, Math.round(extent / v / multiple[a]!) * multiple[a]!));
    const valid = unetValidInputShape(sizes, geometry);
    return valid.some((s, a) => s > maxInput[a]!) ? null : valid;
  };
  const voxels = (s: number[]) => s.reduce((p, v) => p * v, 1);
  const finest = Math.min(...voxelSize);
  // The smallest shape, even when it does not fit a crop (the config check then says so).
  let best = shapeFor(finest) ?? unetValidInputShape([1, 1, 1], geometry);
  for (let extent = 2 * finest; extent <= finest * 4096; extent += finest) {
    const s = shapeFor(extent);
    if (s === null || voxels(s) > budget) break;
    best = s;
  }
  return best;
}

/**
 * The planned run config: `json` with the values above filled in where it leaves them out
 * (`targetKind` is the resolved target's kind, flags included), each with its reason.
 */
export function planRun(json: unknown, facts: DataFacts, targetKind: string): RunPlan {
  const out: Record<string, unknown> = { ...((json as Record<string, unknown> | null) ?? {}) };
  const model: Record<string, unknown> = { ...((out['model'] as Record<string, unknown> | undefined) ?? {}) };
  const choices: PlanChoice[] = [];
  const notes: string[] = [];
  const vs = facts.voxelSize;
  const at = `voxel size ${fmt(vs)} ${facts.units}`.trimEnd();
  // The first release's per-axis downsampleFactors is outputDownsample; per-level ones are planned.
  if (isNumbers(model['downsampleFactors']) && model['outputDownsample'] === undefined) {
    model['outputDownsample'] = model['downsampleFactors'];
    delete model['downsampleFactors'];
    notes.push('model.downsampleFactors of one factor per axis is now model.outputDownsample (deprecated name)');
  }
  const givenInput = isNumbers(out['inputShape']) ? out['inputShape'] : undefined;
  const depth = typeof model['depth'] === 'number' ? model['depth'] : PLAN_DEFAULT_DEPTH;
  if (model['downsampleFactors'] === undefined) {
    const factors = planPooling(vs, depth, givenInput);
    model['downsampleFactors'] = factors;
    choices.push({ key: 'model.downsampleFactors', value: factors, reason: poolingReason(vs, factors, at) });
  }
  const factors = model['downsampleFactors'] as number[][];
  if (model['kernelSizes'] === undefined && Array.isArray(factors) && factors.every(isNumbers)) {
    const kernels = planKernels(vs, factors);
    model['kernelSizes'] = kernels;
    const flat = kernels.slice(0, -1).some((k) => k.includes(1));
    choices.push({
      key: 'model.kernelSizes',
      value: kernels,
      reason: flat
        ? 'kernel 1 along axes more than 2× coarser than the finest at their level (no convolution across thick sections), 3 at the bottom'
        : `3 along every axis (${at}: no axis more than 2× coarser than the finest)`,
    });
  }
  out['model'] = model;
  if (givenInput === undefined) {
    const geometry = { ...model } as UNetSizeOptions;
    const shape = planInputShape(vs, geometry, facts.maxInput);
    out['inputShape'] = shape;
    const extent = shape.map((s, a) => s * vs[a]!);
    choices.push({
      key: 'inputShape',
      value: shape,
      reason:
        `about the same world extent along every axis (${fmt(extent)} ${facts.units}) within ${PLAN_VOXEL_BUDGET} input ` +
        `voxels (${shape.reduce((p, v) => p * v, 1)}), fitting every train crop and the pooling`,
    });
  }
  const thick = vs[0]! >= 2 * Math.min(vs[1]!, vs[2]!);
  const target = out['target'];
  const offsetsGiven = typeof target === 'object' && target !== null && 'offsets' in target;
  if (targetKind === 'affinities' && !offsetsGiven && thick) {
    const continues = facts.zContinuity !== null && facts.zContinuity >= CONTINUITY_THRESHOLD;
    const share = facts.zContinuity === null ? 'not measured' : `${(facts.zContinuity * 100).toFixed(1)} %`;
    if (!continues) {
      const offsets = [
        [0, -1, 0],
        [0, 0, -1],
      ];
      out['target'] = { ...(typeof target === 'object' && target !== null ? target : {}), kind: 'affinities', offsets };
      choices.push({
        key: 'target.offsets',
        value: offsets,
        reason:
          `in-plane: sections are thick (z ${vs[0]} vs ${Math.min(vs[1]!, vs[2]!)} ${facts.units} in-plane) and ` +
          `objects do not continue across them (labelled z-neighbours with the same id: ${share})`,
      });
    } else {
      notes.push(
        `target.offsets: the default 3D neighbourhood, since objects continue across the thick sections (${share} of labelled z-neighbours share their id)`,
      );
    }
  }
  if (targetKind === 'boundary' && thick && facts.zContinuity !== null && facts.zContinuity < CONTINUITY_THRESHOLD) {
    notes.push(
      "target 'boundary' marks a voxel whose z-neighbour has another id, and here objects do not continue across " +
        "sections: nearly every voxel is a boundary; target 'affinities' (planned in-plane) suits such labels",
    );
  }
  return { json: out, choices, notes };
}

function poolingReason(vs: readonly number[], factors: readonly Triple[], at: string): string {
  const zPooled = factors.some((f) => f[0] > 1);
  const inPlaneOnly = factors.some((f) => f[0] === 1 && (f[1] > 1 || f[2] > 1));
  if (!inPlaneOnly) return `2× along every axis at each level (${at}: no axis more than 2× coarser than the finest)`;
  const levels = factors.filter((f) => f[0] === 1 && (f[1] > 1 || f[2] > 1)).length;
  return (
    `in-plane only at ${levels} level(s): z (${vs[0]}) is at least twice the finest voxel size there; ` +
    (zPooled ? 'z pooled once y and x have come within 2× of it' : 'z is never pooled at this depth')
  );
}
