/**
 * The data side of planning (plan.ts): the facts the planner needs, read from the train crops,
 * and the planned effective config of `tfjs-zarr train` (resolve, open the data, plan what the
 * config leaves out, resolve again). A run directory that already holds a run keeps the values
 * stored there for every planned key, so resuming never changes the model.
 */
import type { Crop } from '../types.js';
import type { DataSplit } from '../zarr/split.js';
import { resolveRunConfig, type RunConfig, type RunFlags } from './config.js';
import { type DataFacts, planRun, type RunPlan } from './plan.js';
import { openRunData } from './setup.js';
import { readRunConfig } from './train.js';
import { roi, roiIntersect, roiIsEmpty } from '../roi.js';

/** Sections and in-plane voxels of each crop's labels read to measure z-continuity. */
const CONTINUITY_SAMPLE = [8, 256, 256];

/** Per axis, the lower median of the values. */
function lowerMedian(values: number[][]): number[] {
  return [0, 1, 2].map((a) => {
    const sorted = values.map((v) => v[a]!).sort((x, y) => x - y);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  });
}

/** Of the labelled voxels of a centred sample of `crop` whose z-neighbour is labelled, how many share its id. */
async function zPairs(crop: Crop): Promise<{ same: number; pairs: number }> {
  const vs = crop.labels.voxelSize;
  const full = crop.labels.roi;
  const shape = full.shape.map((s, a) => Math.min(s / vs[a]!, CONTINUITY_SAMPLE[a]!));
  const offset = full.offset.map((o, a) => o + Math.floor((full.shape[a]! / vs[a]! - shape[a]!) / 2) * vs[a]!);
  const sample = roiIntersect(
    roi(
      offset,
      shape.map((s, a) => s * vs[a]!),
    ),
    full,
  );
  if (roiIsEmpty(sample) || shape[0]! < 2) return { same: 0, pairs: 0 };
  const ids = await crop.labels.read(sample);
  const plane = shape[1]! * shape[2]!;
  let same = 0;
  let pairs = 0;
  for (let i = 0; i + plane < shape[0]! * plane; i++) {
    const a = ids[i]!;
    const b = ids[i + plane]!;
    // 0 (or 0n for uint64 ids) is background.
    if (a === 0 || a === 0n || b === 0 || b === 0n) continue;
    pairs++;
    if (a === b) same++;
  }
  return { same, pairs };
}

/** What the planner needs to know about the train crops. */
export async function dataFacts(split: DataSplit): Promise<DataFacts> {
  const crops = split.train;
  const voxelSize = lowerMedian(crops.map((c) => [...c.raw.voxelSize]));
  const maxInput = [0, 1, 2].map((a) => Math.min(...crops.map((c) => c.raw.roi.shape[a]! / c.raw.voxelSize[a]!)));
  let same = 0;
  let pairs = 0;
  for (const crop of crops) {
    const p = await zPairs(crop);
    same += p.same;
    pairs += p.pairs;
  }
  return {
    voxelSize,
    units: crops[0]?.raw.units[0] ?? '',
    maxInput,
    zContinuity: pairs === 0 ? null : same / pairs,
  };
}

/** Sets `value` at a dotted key path of a JSON object (copying the objects on the way). */
function setPath(json: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = key.split('.');
  const inner = json[head!];
  return {
    ...json,
    [head!]:
      rest.length === 0
        ? value
        : setPath(
            typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {},
            rest.join('.'),
            value,
          ),
  };
}

function getPath(config: unknown, key: string): unknown {
  return key.split('.').reduce((v, k) => (v as Record<string, unknown> | undefined)?.[k], config);
}

export interface PlannedConfig {
  config: RunConfig;
  split: DataSplit;
  plan: RunPlan;
}

/**
 * The effective config of `tfjs-zarr train` for a run config and flags: resolved, its data opened,
 * the keys it leaves out planned from the data (or taken from the run directory's stored config
 * when resuming), and resolved again.
 */
export async function planRunConfig(
  json: unknown,
  options: { source?: string; flags?: RunFlags; cwd?: string },
): Promise<PlannedConfig> {
  const first = resolveRunConfig(json, { ...options, warn: () => undefined });
  const split = await openRunData(first);
  const plan = planRun(json, await dataFacts(split), first.target.kind);
  const stored = await readRunConfig(first.runDir).catch(() => null);
  let planned = plan.json;
  if (stored) {
    for (const choice of plan.choices) {
      const was = getPath(stored, choice.key);
      if (was === undefined || JSON.stringify(was) === JSON.stringify(choice.value)) continue;
      planned = setPath(planned, choice.key, was);
      choice.value = was;
      choice.reason = 'as stored in the run directory (the run was made with it)';
    }
  }
  return { config: resolveRunConfig(planned, options), split, plan };
}
