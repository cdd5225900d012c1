/**
 * The run config of `tfjs-zarr train`, defined once: every key with its type, its default and what
 * it is for. The RunConfig type, the defaults, the unknown-key messages and the README's table
 * (scripts/run-config-table.ts) all come from here.
 *
 * Adding a key is adding its line here: `key: about(v.optional(schema, default), 'what it is for')`
 * (`{ resumable: true }` when a resumed run may change it); then `npm run docs` rewrites the
 * README's table and `npm run api` the API report (RunConfig gains the key). A default that
 * depends on other keys (the loss on the target) is left out here (`shownDefault` says it in the
 * table) and filled by a step of `resolveRunConfig` (config.ts), which also holds the checks
 * between keys.
 */
import * as v from 'valibot';
import { DEFAULT_THRESHOLDS } from '../eval/postprocess.js';
import { SCORE_NAMES, type ScoreName } from '../eval/scores.js';
import { sectionProbabilitiesFit } from '../train/defects.js';
import { slipAndShiftFit } from '../train/shift.js';
import { idSet } from '../train/targets/ids.js';
import { AUGMENT_DEFAULTS } from '../train/augment.js';
import { DEFAULT_AFFINITY_OFFSETS } from '../train/targets.js';
import { describeValue } from './check.js';
import {
  about,
  object,
  finiteNumber,
  integer,
  nonEmptyString,
  numberAbove,
  numberIn,
  positiveInt,
  range,
  shape3,
} from './schema-tools.js';

/** Voxel sizes that pick a multiscale level (DataConfig voxelSize): one positive integer per spatial axis. */
const voxelSizes = v.pipe(v.array(positiveInt), v.minLength(1));

const dataSchema = object({
  path: about(nonEmptyString, 'the container', {
    resumable: true,
    missing: 'is missing: give the container (a folder, URL or .zip) as data.path or --data',
  }),
  name: v.optional(nonEmptyString),
  trainGroupName: v.optional(nonEmptyString),
  validateGroupName: v.optional(nonEmptyString),
  rawName: v.optional(nonEmptyString),
  gtName: v.optional(nonEmptyString),
  maskName: v.optional(nonEmptyString),
  level: v.optional(v.union([v.pipe(integer, v.minValue(0)), v.string()])),
  voxelSize: v.optional(
    v.union([
      voxelSizes,
      v.strictObject({ raw: v.optional(voxelSizes), labels: v.optional(voxelSizes), mask: v.optional(voxelSizes) }),
    ]),
  ),
  rawScale: v.optional(numberAbove(0)),
  resample: v.optional(v.picklist(['raw', 'labels'])),
  cacheBytes: v.optional(v.pipe(integer, v.minValue(0))),
  concurrency: v.optional(positiveInt),
});

/** An affinity offset [z, y, x]: integers, not all zero. */
const offset = v.pipe(
  v.array(integer),
  v.length(3),
  v.check((o) => o.some((x) => x !== 0), 'the offset [0, 0, 0] links every voxel to itself'),
);

/** A label id below 2^64: an integer ≥ 0, or a decimal string (ids above 2^53, which JSON numbers cannot hold). */
const labelId = v.custom<number | string>(
  (x) => (typeof x === 'number' ? Number.isSafeInteger(x) : typeof x === 'string') && idSet([x]) !== null,
  (issue) =>
    `must be a label id (an integer ≥ 0; from 2^53 to 2^64 − 1 a decimal string), got ${describeValue(issue.input)}`,
);

const targetSchema = v.variant('kind', [
  v.strictObject({ kind: v.literal('boundary') }),
  v.strictObject({
    kind: v.literal('affinities'),
    offsets: v.optional(v.pipe(v.array(offset), v.minLength(1, 'must list at least one offset [z, y, x]')), () =>
      DEFAULT_AFFINITY_OFFSETS.map((o) => [...o]),
    ),
  }),
  v.strictObject({
    kind: v.literal('distance'),
    /** DaCapo's DistanceTask: tanh(d / scaleFactor) of the signed distance to each class's boundary (world units). */
    scaleFactor: about(numberAbove(0), 'tanh(d / scaleFactor), world units', {
      missing: "target 'distance' needs scaleFactor (world units of tanh(d / scaleFactor))",
    }),
    /** The label ids of each channel's class (an id or a list; ids above 2^53 as decimal strings); default: labels ≠ 0. */
    classes: v.optional(v.array(v.union([labelId, v.pipe(v.array(labelId), v.minLength(1))]))),
    /** DaCapo's mask_distances (default true). */
    maskDistances: v.optional(v.boolean()),
    /** DaCapo's clip_distance and tol_distance: the distance scores' (world units). */
    clipDistance: v.optional(v.pipe(finiteNumber, v.minValue(0))),
    tolDistance: v.optional(v.pipe(finiteNumber, v.minValue(0))),
  }),
  v.strictObject({
    kind: v.literal('semantic'),
    /** The class names (label value i is class i) or their number. */
    classes: about(
      v.union([
        v.pipe(integer, v.minValue(2)),
        v.pipe(v.array(nonEmptyString), v.minLength(2, 'needs at least 2 classes (background and one more)')),
      ]),
      'the classes',
      {
        missing: "target 'semantic' needs its classes: their names (label i is class i) or their number",
      },
    ),
  }),
]);

/** A convolution's kernel size: an odd number (cubic) or [kz, ky, kx] odd numbers. */
const oddInt = v.pipe(
  integer,
  v.minValue(1),
  v.check((k) => k % 2 === 1, 'must be odd'),
);
const kernelSize = v.union(
  [oddInt, v.pipe(v.array(oddInt), v.length(3))],
  (issue) => `must be an odd number or [kz, ky, kx] odd numbers, got ${JSON.stringify(issue.input)}`,
);

// model, target, optimizer and validation: null is taken as absent (the first releases did).
// The first release's names are read in config.ts (expand): `upsampleFactors` as outputUpsample,
// a `downsampleFactors` of one factor per axis as outputDownsample.
const modelSchema = object({
  architecture: v.optional(v.picklist(['unet3d']), 'unet3d'),
  baseFilters: v.optional(positiveInt, 8),
  /** Filters grow by this factor per level (DaCapo's fmap_inc_factor). */
  fmapIncFactor: v.optional(v.pipe(finiteNumber, v.minValue(1)), 2),
  /** Number of poolings; default: the levels of downsampleFactors, else 2. */
  depth: v.optional(v.pipe(integer, v.minValue(0), v.maxValue(6))),
  /** Pooling factors [z, y, x] per level, finest first; default (resolveRunConfig) depth × [2, 2, 2], planned by `tfjs-zarr train`. */
  downsampleFactors: v.optional(v.array(shape3)),
  /** Kernel size per level, the bottom included (depth + 1); default 3, planned by `tfjs-zarr train`. */
  kernelSizes: v.optional(v.array(kernelSize)),
  padding: v.optional(v.picklist(['same', 'valid']), 'same'),
  convsPerBlock: v.optional(positiveInt, 2),
  /** Default: sigmoid (softmax for a semantic target). */
  finalActivation: v.optional(v.picklist(['sigmoid', 'softmax', 'linear'])),
  /** Must fit the target: 1 (boundary), one per offset (affinities), one per class (semantic); default: that. */
  outputChannels: v.optional(positiveInt),
  /** Seed of the initial weights (default: the run's seed). */
  seed: v.optional(integer),
  /** Output voxels per input voxel (labels finer than raw); absent: [1, 1, 1]. */
  outputUpsample: v.optional(shape3),
  /** Input voxels per output voxel (labels coarser than raw); absent: [1, 1, 1]. */
  outputDownsample: v.optional(shape3),
});

/** Validated structure only: their defaults are the sampler's (train/elastic.ts, train/intensity.ts). */
const elasticSchema = object({
  controlPointSpacing: v.union([numberAbove(0), v.pipe(v.array(numberAbove(0)), v.length(3))]),
  jitterSigma: v.optional(
    v.union([v.pipe(finiteNumber, v.minValue(0)), v.pipe(v.array(v.pipe(finiteNumber, v.minValue(0))), v.length(3))]),
  ),
  rotationInterval: v.optional(range()),
  uniform3d: v.optional(v.boolean()),
  subsample: v.optional(positiveInt),
});
const noiseSchema = object({
  mean: v.optional(finiteNumber),
  var: v.optional(v.pipe(finiteNumber, v.minValue(0))),
  clip: v.optional(v.boolean()),
});
const scaleShiftSchema = object({ scale: finiteNumber, shift: finiteNumber });
const probability = numberIn(0, 1);
/** gunpowder's ShiftAugment, DefectAugment and a Gaussian blur, with the rules between their keys (shift.ts, defects.ts). */
const shiftFields = object({
  probSlip: v.optional(probability),
  probShift: v.optional(probability),
  sigma: v.union([
    v.pipe(finiteNumber, v.minValue(0)),
    v.pipe(
      v.array(v.pipe(finiteNumber, v.minValue(0))),
      v.length(2),
      v.transform((r) => r as [number, number]),
    ),
  ]),
  probability: v.optional(probability),
});
const shiftSchema = v.pipe(
  shiftFields,
  v.check(
    (o: v.InferOutput<typeof shiftFields>) => slipAndShiftFit(o),
    'probSlip + probShift must not exceed 1 (one draw per section picks slip, shift or neither)',
  ),
);
const blurSchema = object({ sigma: range(v.pipe(finiteNumber, v.minValue(0))), probability: v.optional(probability) });
const defectFields = object({
  missingSection: v.optional(probability),
  lowContrast: v.optional(probability),
  contrastScale: v.optional(finiteNumber),
  artifacts: v.optional(
    object({
      probability,
      path: nonEmptyString,
      raw: v.optional(nonEmptyString),
      alpha: v.optional(nonEmptyString),
    }),
  ),
  probability: v.optional(probability),
});
const defectSchema = v.pipe(
  defectFields,
  v.check(
    (o: v.InferOutput<typeof defectFields>) => sectionProbabilitiesFit(o),
    'the section probabilities (missingSection, lowContrast, artifacts.probability) add up to more than 1',
  ),
);

const augmentSchema = object({
  mirror: v.optional(v.union([v.boolean(), v.pipe(v.array(v.boolean()), v.length(3))]), AUGMENT_DEFAULTS.mirror),
  transpose: v.optional(v.boolean(), AUGMENT_DEFAULTS.transpose),
  intensity: v.optional(
    v.union([object({ scale: v.optional(range(), [1, 1]), shift: v.optional(range(), [0, 0]) }), v.literal(false)]),
    AUGMENT_DEFAULTS.intensity,
  ),
  gamma: v.optional(v.union([range(numberAbove(0)), v.literal(false)]), AUGMENT_DEFAULTS.gamma),
  elastic: v.optional(v.union([elasticSchema, v.literal(false)])),
  shift: v.optional(v.union([shiftSchema, v.literal(false)])),
  blur: v.optional(v.union([blurSchema, v.literal(false)])),
  defect: v.optional(v.union([defectSchema, v.literal(false)])),
  noise: v.optional(v.union([noiseSchema, v.literal(false)])),
  intensityScaleShift: v.optional(v.union([scaleShiftSchema, v.literal(false)])),
});

const validationSchema = object({
  /** Evaluate every test crop every N epochs (and after the last). */
  interval: v.optional(positiveInt, 1),
  /**
   * Post-processing sweep: thresholds (boundary, affinities; distance: tanh distances in [−1, 1],
   * default −0.2 … 0.6, watershed seeds 0 … 0.8).
   */
  thresholds: v.optional(v.array(numberIn(-1, 1)), () => [...DEFAULT_THRESHOLDS]),
  /** Fill unlabelled voxels (boundary). */
  grow: v.optional(v.boolean(), true),
  /** Part of each prediction tile's output kept, [z, y, x] (null: predictCrop's seamless default). */
  predictOutputShape: v.optional(v.nullable(shape3), null),
  predictBatchSize: v.optional(positiveInt, 4),
  /** Instances from predictions: threshold + components, or seeded watershed (boundary, distance). */
  postProcessing: v.optional(v.picklist(['threshold', 'watershed']), 'threshold'),
  /** Watershed seeds: the prediction's components above the threshold, or its regional maxima above it. */
  seeds: v.optional(v.picklist(['threshold', 'maxima']), 'threshold'),
  /** Scores computed, logged and written (ValidationHook's `scores`). */
  scores: v.optional(v.array(v.picklist(SCORE_NAMES)), () => ['voi'] as ScoreName[]),
  /** The criterion of best/<crop>/ (ValidationHook's `criterion`). */
  criterion: v.optional(nonEmptyString, 'voi'),
  /** More criteria, each with best-<criterion>/<crop>/ (ValidationHook's `keepBestBy`). */
  keepBestBy: v.optional(v.array(nonEmptyString), () => [] as string[]),
});

export const runConfigSchema = object({
  name: about(v.optional(nonEmptyString), 'the run', {
    shownDefault: "the runDir's or the data's name",
    resumable: true,
  }),
  runDir: about(v.optional(nonEmptyString), 'its directory', { shownDefault: '`runs/<name>`' }),
  data: about(
    dataSchema,
    "a container path/URL (`s3://`, `gs://` too), or a `DataConfig` (`resample: 'raw' | 'labels'` for one voxel size; `voxelSize: [z, y, x]` or `{ raw, labels, mask }` picks multiscale levels)",
    { shownDefault: '— (required)' },
  ),
  model: about(
    v.nullish(modelSchema, {}),
    '`unet3d` options (see Models); `depth` the levels of `downsampleFactors`, else 2; `downsampleFactors` ' +
      '`depth` × `[2, 2, 2]` and `kernelSizes` 3, both planned from the voxel size by `tfjs-zarr train`; ' +
      '`finalActivation` sigmoid (softmax for semantic); `outputChannels` from the target; `seed` = `seed`; ' +
      '`outputUpsample` / `outputDownsample` when raw and labels differ in voxel size (checked against the data: ' +
      'the error names the factors to set; the former names `upsampleFactors` and a per-axis `downsampleFactors` ' +
      'still work, with a deprecation message)',
  ),
  target: about(
    v.nullish(targetSchema, { kind: 'boundary' }),
    "`'boundary'`, `{ kind: 'affinities', offsets: [[-1,0,0],[0,-1,0],[0,0,-1]] }` (offsets planned in-plane by " +
      '`tfjs-zarr train` for thick sections with per-section labels), ' +
      "`{ kind: 'semantic', classes: ['bg', 'mito', …] | n }`, " +
      "`{ kind: 'distance', scaleFactor, classes?: [id | [ids…], …], maskDistances?: true, clipDistance?, tolDistance? }` " +
      '(see Targets; loss `meanSquaredError` and a linear output by default)',
  ),
  loss: about(
    v.optional(v.picklist(['binaryCrossentropy', 'meanSquaredError', 'categoricalCrossentropy'])),
    'masked by the mask channel(s)',
    {
      shownDefault: '`binaryCrossentropy` (semantic: `categoricalCrossentropy`; distance: `meanSquaredError`)',
    },
  ),
  optimizer: about(
    v.nullish(
      object({
        name: v.optional(v.picklist(['adam', 'sgd']), 'adam'),
        learningRate: about(v.optional(numberAbove(0), 1e-3), 'the learning rate', { resumable: true }),
      }),
      {},
    ),
    '`adam` or `sgd`',
  ),
  batchSize: about(v.optional(positiveInt, 2), 'samples per batch'),
  inputShape: about(
    v.optional(shape3, () => [16, 48, 48] as [number, number, number]),
    'raw voxels per sample [z, y, x]; the output shape follows from the model; planned from the data by ' +
      '`tfjs-zarr train` (e.g. `[32, 32, 32]` at 8 nm, `[6, 76, 76]` at 4×4×50 nm)',
  ),
  minMasked: about(v.optional(numberIn(0, 1), 0.15), 'as in `trainingDataset`'),
  cropWeights: about(
    v.optional(
      v.union([
        v.picklist(['equal', 'size', 'masked']),
        v.pipe(
          v.array(v.pipe(finiteNumber, v.minValue(0))),
          v.check((w) => w.some((x) => x > 0), 'must have a weight above 0'),
        ),
      ]),
      'equal',
    ),
    'as in `trainingDataset`',
  ),
  augment: about(
    v.optional(v.union([augmentSchema, v.literal(false)]), false),
    '`true` (mirror + transpose) or an object (see the augmentations table)',
  ),
  seed: about(v.optional(integer, 1), 'samples (and initial weights)'),
  epochs: about(v.optional(positiveInt, 20), 'epochs of the whole run', { resumable: true }),
  batchesPerEpoch: about(v.optional(positiveInt, 50), 'batches per epoch'),
  seconds: about(
    v.optional(v.nullable(numberAbove(0)), null),
    'time budget of one `train` invocation, checked after each epoch (null: none)',
    { resumable: true },
  ),
  checkpointEvery: about(
    v.optional(positiveInt, 1),
    'save the resume point every N epochs (also on Ctrl-C and at the end)',
    { resumable: true },
  ),
  validation: about(
    v.nullish(validationSchema, {}),
    'evaluate every `interval` epochs (and after the last); the post-processing (`threshold` or `watershed`, ' +
      "its `seeds`) and its sweep; the part of each prediction tile kept (null: `predictCrop`'s seamless default); " +
      'the `scores`, the `criterion` of `best/` ' +
      'and those of `best-<criterion>/` (`keepBestBy`; see Scores)',
    { resumable: true },
  ),
  backend: about(
    v.optional(v.picklist(['auto', 'tensorflow', 'wasm', 'cpu']), 'auto'),
    '`tensorflow`, `wasm` or `cpu` (overrides `TFJS_ZARR_BACKEND`)',
    { resumable: true },
  ),
  threads: about(
    v.optional(v.nullable(positiveInt), null),
    'threads for training and prediction on wasm, the calling one included (null: `TFJS_ZARR_THREADS`, else every core)',
    { resumable: true },
  ),
});

/** What a run config file may hold (every key but `data` optional). */
export type RunConfigFile = v.InferInput<typeof runConfigSchema>;

/** A run config as the schema gives it: keys with a static default filled in. */
export type ParsedRunConfig = v.InferOutput<typeof runConfigSchema>;
