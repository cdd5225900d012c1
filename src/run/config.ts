/**
 * The run config of `tfjs-zarr train`: one JSON document with DaCapo's vocabulary (data split,
 * architecture, task/target, trainer: loss, optimizer, batch size, min_masked, augments,
 * iterations, validation interval, post-processing sweep), checked before anything runs and
 * completed with defaults into the effective config that is written to `<runDir>/config.json`.
 *
 * Relative paths (`data.path`, `runDir`) are relative to the working directory; the effective
 * config stores them absolute, so `tfjs-zarr train runs/x/config.json` works from anywhere.
 */
import * as path from 'node:path';
import type { DataConfigOptions } from '../zarr/config.js';
import type { AugmentOptions } from '../train/augment.js';
import { checkElasticOptions, type ElasticOptions } from '../train/elastic.js';
import { checkRawAugmentOptions, type RawAugmentOptions } from '../train/intensity.js';
import type { SampleAugmentOptions } from '../train/sampler.js';
import type { CropWeights } from '../train/dataset.js';
import type { LossName } from '../train/loss.js';
import { DEFAULT_AFFINITY_OFFSETS } from '../train/targets.js';
import { DEFAULT_THRESHOLDS } from '../eval/postprocess.js';
import {
  type FinalActivation,
  type Padding,
  type Triple,
  unetGeometry,
  unetOutputShape,
  unetValidInputShape,
} from '../models/unet.js';
import { Checker, keyPath } from './check.js';

export type TargetConfig =
  | { kind: 'boundary' }
  | { kind: 'affinities'; offsets: number[][] }
  /** `classes`: the class names (label value i is class i) or their number. */
  | { kind: 'semantic'; classes: number | string[] };

export interface ModelConfig {
  architecture: 'unet3d';
  baseFilters: number;
  depth: number;
  padding: Padding;
  convsPerBlock: number;
  finalActivation: FinalActivation;
  /** Must fit the target: 1 (boundary), one per offset (affinities), one per class (semantic). */
  outputChannels: number;
  /** Seed of the initial weights. */
  seed: number;
  /** Filters grow by this factor per level. */
  fmapIncFactor: number;
  /** Pooling factors [z, y, x] per level (depth of them); planned from the voxel size by `tfjs-zarr train`. */
  downsampleFactors: Triple[];
  /** Kernel size [kz, ky, kx] per level, the bottom included (depth + 1). */
  kernelSizes: Triple[];
  /** Output voxels per input voxel (labels finer than raw); absent: [1, 1, 1]. */
  outputUpsample?: Triple;
  /** Input voxels per output voxel (labels coarser than raw); absent: [1, 1, 1]. */
  outputDownsample?: Triple;
}

export interface OptimizerConfig {
  name: 'adam' | 'sgd';
  learningRate: number;
}

export interface ValidationConfig {
  /** Evaluate every test crop every N epochs. */
  interval: number;
  /** Post-processing sweep: thresholds (boundary, affinities); `grow` fills unlabelled voxels (boundary). */
  thresholds: number[];
  grow: boolean;
  /** Part of each prediction tile's output kept, [z, y, x] (null: predictCrop's seamless default). */
  predictOutputShape: [number, number, number] | null;
  predictBatchSize: number;
}

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** The effective config: every field present. */
export interface RunConfig {
  name: string;
  runDir: string;
  data: DataConfigOptions;
  model: ModelConfig;
  target: TargetConfig;
  loss: LossName;
  optimizer: OptimizerConfig;
  batchSize: number;
  inputShape: [number, number, number];
  minMasked: number;
  cropWeights: CropWeights;
  augment: SampleAugmentOptions | false;
  /** Seed of the samples. */
  seed: number;
  /** Epochs of the whole run (a resumed run continues up to this many). */
  epochs: number;
  batchesPerEpoch: number;
  /** Time budget of one `train` invocation in seconds, checked after each epoch (null: none). */
  seconds: number | null;
  /** Save the latest checkpoint (resume point) every N epochs (and on Ctrl-C, and at the end). */
  checkpointEvery: number;
  validation: ValidationConfig;
  backend: BackendChoice;
}

/** The defaults, documented in the README (DaCapo's where it has one). */
export const RUN_DEFAULTS = {
  model: { architecture: 'unet3d', baseFilters: 8, depth: 2, padding: 'same', convsPerBlock: 2, fmapIncFactor: 2 },
  target: 'boundary',
  optimizer: { name: 'adam', learningRate: 1e-3 },
  batchSize: 2,
  inputShape: [16, 48, 48],
  minMasked: 0.15,
  cropWeights: 'equal',
  augment: false,
  seed: 1,
  epochs: 20,
  batchesPerEpoch: 50,
  seconds: null,
  checkpointEvery: 1,
  validation: { interval: 1, grow: true, predictOutputShape: null, predictBatchSize: 4 },
  backend: 'auto',
} as const;

const TOP_KEYS = [
  'name',
  'runDir',
  'data',
  'model',
  'target',
  'loss',
  'optimizer',
  'batchSize',
  'inputShape',
  'minMasked',
  'cropWeights',
  'augment',
  'seed',
  'epochs',
  'batchesPerEpoch',
  'seconds',
  'checkpointEvery',
  'validation',
  'backend',
] as const;

const DATA_KEYS = [
  'path',
  'name',
  'trainGroupName',
  'validateGroupName',
  'rawName',
  'gtName',
  'maskName',
  'level',
  'rawScale',
  'resample',
  'cacheBytes',
  'concurrency',
];

/** Values given on the command line, applied over the config file. */
export interface RunFlags {
  data?: string;
  run?: string;
  epochs?: number;
  seconds?: number;
  target?: string;
  backend?: string;
}

/** Channels of a target (model output), for checks and for sizing the model. */
export function targetOutputChannels(target: TargetConfig): number {
  if (target.kind === 'boundary') return 1;
  if (target.kind === 'affinities') return target.offsets.length;
  return typeof target.classes === 'number' ? target.classes : target.classes.length;
}

function isUrl(p: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
}

function absolute(p: string, cwd: string): string {
  return isUrl(p) ? p : path.resolve(cwd, p);
}

/**
 * Checks a parsed run config (and flags over it) and fills in the defaults. Throws a ConfigError
 * naming the key at fault; `source` (the file name) prefixes its message.
 */
export function resolveRunConfig(
  json: unknown,
  options: { source?: string; cwd?: string; flags?: RunFlags; warn?: (message: string) => void } = {},
): RunConfig {
  const c = new Checker(options.source);
  const cwd = options.cwd ?? process.cwd();
  const flags = options.flags ?? {};
  const top = c.object(json ?? {}, '', TOP_KEYS);

  // data
  let dataIn: Record<string, unknown>;
  if (typeof top['data'] === 'string') dataIn = { path: top['data'] };
  else if (top['data'] === undefined) dataIn = {};
  else dataIn = { ...c.object(top['data'], 'data', DATA_KEYS) };
  if (flags.data !== undefined) dataIn['path'] = flags.data;
  if (dataIn['path'] === undefined)
    c.fail('data.path', 'is missing: give the container (a folder, URL or .zip) as data.path or --data');
  const data: DataConfigOptions = { path: absolute(c.string(dataIn['path'], 'data.path'), cwd) };
  for (const k of ['name', 'trainGroupName', 'validateGroupName', 'rawName', 'gtName', 'maskName'] as const) {
    if (dataIn[k] !== undefined) data[k] = c.string(dataIn[k], `data.${k}`);
  }
  if (dataIn['level'] !== undefined) {
    data.level =
      typeof dataIn['level'] === 'string'
        ? dataIn['level']
        : c.number(dataIn['level'], 'data.level', { integer: true, min: 0 });
  }
  if (dataIn['rawScale'] !== undefined) data.rawScale = c.number(dataIn['rawScale'], 'data.rawScale', { above: 0 });
  if (dataIn['resample'] !== undefined)
    data.resample = c.oneOf(dataIn['resample'], 'data.resample', ['raw', 'labels'] as const);
  if (dataIn['cacheBytes'] !== undefined)
    data.cacheBytes = c.number(dataIn['cacheBytes'], 'data.cacheBytes', { integer: true, min: 0 });
  if (dataIn['concurrency'] !== undefined) data.concurrency = c.positiveInt(dataIn['concurrency'], 'data.concurrency');

  // name and run directory
  const dataName =
    data.name ?? (path.basename(data.path.replace(/[/\\]+$/, '')).replace(/\.(zip|zarr|n5)$/gi, '') || 'run');
  const runDirIn = flags.run ?? top['runDir'];
  const name =
    top['name'] !== undefined
      ? c.string(top['name'], 'name')
      : runDirIn !== undefined
        ? path.basename(c.string(runDirIn, 'runDir'))
        : dataName;
  const runDir = absolute(runDirIn === undefined ? path.join('runs', name) : c.string(runDirIn, 'runDir'), cwd);

  // target
  // --target names the kind; the file's offsets or classes stay when it names the same kind.
  const fileTarget = top['target'];
  const fileKind = typeof fileTarget === 'string' ? fileTarget : (fileTarget as { kind?: unknown } | undefined)?.kind;
  const targetIn = flags.target === undefined || flags.target === fileKind ? fileTarget : flags.target;
  const target = resolveTarget(
    c,
    targetIn ?? RUN_DEFAULTS.target,
    targetIn === flags.target && flags.target !== undefined,
  );
  const channels = targetOutputChannels(target);

  // model
  const m = c.object(top['model'] ?? {}, 'model', [
    'architecture',
    'baseFilters',
    'depth',
    'padding',
    'convsPerBlock',
    'finalActivation',
    'outputChannels',
    'seed',
    'fmapIncFactor',
    'downsampleFactors',
    'kernelSizes',
    'outputUpsample',
    'outputDownsample',
    'upsampleFactors',
  ]);
  const d = RUN_DEFAULTS.model;
  const seed = top['seed'] === undefined ? RUN_DEFAULTS.seed : c.number(top['seed'], 'seed', { integer: true });
  const geometry = resolveGeometry(c, m, options.warn ?? console.warn);
  const model: ModelConfig = {
    architecture:
      m['architecture'] === undefined ? d.architecture : c.oneOf(m['architecture'], 'model.architecture', ['unet3d']),
    baseFilters: m['baseFilters'] === undefined ? d.baseFilters : c.positiveInt(m['baseFilters'], 'model.baseFilters'),
    depth: geometry.downsampleFactors.length,
    padding: geometry.padding,
    convsPerBlock: geometry.convsPerBlock,
    finalActivation:
      m['finalActivation'] === undefined
        ? target.kind === 'semantic'
          ? 'softmax'
          : 'sigmoid'
        : c.oneOf(m['finalActivation'], 'model.finalActivation', ['sigmoid', 'softmax', 'linear']),
    outputChannels:
      m['outputChannels'] === undefined ? channels : c.positiveInt(m['outputChannels'], 'model.outputChannels'),
    seed: m['seed'] === undefined ? seed : c.number(m['seed'], 'model.seed', { integer: true }),
    fmapIncFactor:
      m['fmapIncFactor'] === undefined
        ? d.fmapIncFactor
        : c.number(m['fmapIncFactor'], 'model.fmapIncFactor', { min: 1 }),
    downsampleFactors: geometry.downsampleFactors,
    kernelSizes: geometry.kernelSizes,
  };
  // Raw and labels at different voxel sizes: the output at the labels' (checked against the data).
  if (geometry.outputUpsample.some((f) => f > 1)) model.outputUpsample = geometry.outputUpsample;
  if (geometry.outputDownsample.some((f) => f > 1)) model.outputDownsample = geometry.outputDownsample;
  if (model.outputChannels !== channels) {
    c.fail(
      'model.outputChannels',
      `${model.outputChannels} channels do not fit target '${target.kind}', which needs ${channels} ` +
        `(${describeTargetChannels(target)}); leave outputChannels out to size the model by the target`,
    );
  }
  if (model.finalActivation === 'softmax' && channels === 1) {
    c.fail('model.finalActivation', "'softmax' over 1 output channel is always 1; use 'sigmoid'");
  }

  // loss
  const defaultLoss: LossName = target.kind === 'semantic' ? 'categoricalCrossentropy' : 'binaryCrossentropy';
  const loss =
    top['loss'] === undefined
      ? defaultLoss
      : c.oneOf(top['loss'], 'loss', ['binaryCrossentropy', 'meanSquaredError', 'categoricalCrossentropy']);
  if (loss === 'categoricalCrossentropy' && target.kind !== 'semantic') {
    c.fail('loss', `'categoricalCrossentropy' needs target 'semantic' (one channel per class), not '${target.kind}'`);
  }
  if (loss === 'categoricalCrossentropy' && model.finalActivation !== 'softmax') {
    c.fail('model.finalActivation', `loss 'categoricalCrossentropy' needs 'softmax', got '${model.finalActivation}'`);
  }
  if (loss === 'binaryCrossentropy' && model.finalActivation === 'linear') {
    c.fail(
      'model.finalActivation',
      "loss 'binaryCrossentropy' needs outputs in [0, 1]: 'sigmoid' (or 'softmax'), not 'linear'",
    );
  }

  // optimizer
  const o = c.object(top['optimizer'] ?? {}, 'optimizer', ['name', 'learningRate']);
  const optimizer: OptimizerConfig = {
    name: o['name'] === undefined ? RUN_DEFAULTS.optimizer.name : c.oneOf(o['name'], 'optimizer.name', ['adam', 'sgd']),
    learningRate:
      o['learningRate'] === undefined
        ? RUN_DEFAULTS.optimizer.learningRate
        : c.number(o['learningRate'], 'optimizer.learningRate', { above: 0 }),
  };

  // sampling
  const inputShape =
    top['inputShape'] === undefined
      ? ([...RUN_DEFAULTS.inputShape] as [number, number, number])
      : c.shape(top['inputShape'], 'inputShape');
  const fits = unetOutputShape(inputShape, model);
  const next = unetValidInputShape(inputShape, model);
  inputShape.forEach((size, axis) => {
    if (fits[axis] == null) {
      const factors = model.downsampleFactors.map((f) => f[axis]).join('×') || 'none';
      c.fail(
        keyPath('inputShape', axis),
        `${size} voxels along ${'zyx'[axis]} do not fit the model (pooling ${factors} along ${'zyx'[axis]}, ` +
          `'${model.padding}' padding: every size to pool must be a multiple of its factor); the next size that fits is ${next[axis]}`,
      );
    }
  });
  const minMasked =
    top['minMasked'] === undefined
      ? RUN_DEFAULTS.minMasked
      : c.number(top['minMasked'], 'minMasked', { min: 0, max: 1 });
  const cropWeights = resolveCropWeights(c, top['cropWeights']);
  const augment = resolveAugment(c, top['augment']);

  // schedule
  const epochs = flags.epochs ?? (top['epochs'] === undefined ? RUN_DEFAULTS.epochs : top['epochs']);
  const secondsIn = flags.seconds ?? top['seconds'];
  const v = c.object(top['validation'] ?? {}, 'validation', [
    'interval',
    'thresholds',
    'grow',
    'predictOutputShape',
    'predictBatchSize',
  ]);
  const dv = RUN_DEFAULTS.validation;
  const validation: ValidationConfig = {
    interval: v['interval'] === undefined ? dv.interval : c.positiveInt(v['interval'], 'validation.interval'),
    thresholds:
      v['thresholds'] === undefined
        ? [...DEFAULT_THRESHOLDS]
        : c
            .array(v['thresholds'], 'validation.thresholds')
            .map((t, i) => c.number(t, keyPath('validation.thresholds', i), { min: 0, max: 1 })),
    grow: v['grow'] === undefined ? dv.grow : c.boolean(v['grow'], 'validation.grow'),
    predictOutputShape:
      v['predictOutputShape'] === undefined || v['predictOutputShape'] === null
        ? null
        : c.shape(v['predictOutputShape'], 'validation.predictOutputShape'),
    predictBatchSize:
      v['predictBatchSize'] === undefined
        ? dv.predictBatchSize
        : c.positiveInt(v['predictBatchSize'], 'validation.predictBatchSize'),
  };
  if (validation.thresholds.length === 0 && target.kind !== 'semantic') {
    c.fail('validation.thresholds', 'must list at least one threshold to sweep');
  }
  const output = modelOutputSpatialShape(inputShape, model);
  const kept = validation.predictOutputShape;
  if (kept?.some((s, i) => s > output[i]!)) {
    c.fail(
      'validation.predictOutputShape',
      `[${kept.join(', ')}] is larger than the model's output [${output.join(', ')}] for inputShape [${inputShape.join(', ')}]`,
    );
  }

  const config: RunConfig = {
    name,
    runDir,
    data,
    model,
    target,
    loss,
    optimizer,
    batchSize: top['batchSize'] === undefined ? RUN_DEFAULTS.batchSize : c.positiveInt(top['batchSize'], 'batchSize'),
    inputShape,
    minMasked,
    cropWeights,
    augment,
    seed,
    epochs: c.positiveInt(epochs, flags.epochs !== undefined ? '--epochs' : 'epochs'),
    batchesPerEpoch:
      top['batchesPerEpoch'] === undefined
        ? RUN_DEFAULTS.batchesPerEpoch
        : c.positiveInt(top['batchesPerEpoch'], 'batchesPerEpoch'),
    seconds:
      secondsIn === undefined || secondsIn === null
        ? null
        : c.number(secondsIn, flags.seconds !== undefined ? '--seconds' : 'seconds', { above: 0 }),
    checkpointEvery:
      top['checkpointEvery'] === undefined
        ? RUN_DEFAULTS.checkpointEvery
        : c.positiveInt(top['checkpointEvery'], 'checkpointEvery'),
    validation,
    backend: c.oneOf(flags.backend ?? top['backend'] ?? RUN_DEFAULTS.backend, flags.backend ? '--backend' : 'backend', [
      'auto',
      'tensorflow',
      'wasm',
      'cpu',
    ]),
  };
  return config;
}

function describeTargetChannels(target: TargetConfig): string {
  if (target.kind === 'boundary') return 'one boundary/interior channel';
  if (target.kind === 'affinities') return `one per offset: ${target.offsets.length} offsets`;
  return 'one per class';
}

function resolveTarget(c: Checker, value: unknown, fromFlag: boolean): TargetConfig {
  const key = fromFlag ? '--target' : 'target';
  const kinds = ['boundary', 'affinities', 'semantic'] as const;
  const t = typeof value === 'string' ? { kind: value } : c.object(value, 'target', ['kind', 'offsets', 'classes']);
  const kind = c.oneOf(t['kind'], typeof value === 'string' ? key : 'target.kind', kinds);
  if (kind !== 'affinities' && t['offsets'] !== undefined)
    c.fail('target.offsets', `is for target 'affinities', not '${kind}'`);
  if (kind !== 'semantic' && t['classes'] !== undefined)
    c.fail('target.classes', `is for target 'semantic', not '${kind}'`);
  if (kind === 'boundary') return { kind };
  if (kind === 'affinities') {
    if (t['offsets'] === undefined) return { kind, offsets: DEFAULT_AFFINITY_OFFSETS.map((o) => [...o]) };
    const list = c.array(t['offsets'], 'target.offsets');
    if (list.length === 0) c.fail('target.offsets', 'must list at least one offset [z, y, x]');
    const offsets = list.map((o, i) => {
      const k = keyPath('target.offsets', i);
      const v = c.array(o, k, 3).map((x, a) => c.number(x, keyPath(k, a), { integer: true }));
      if (v.every((x) => x === 0)) c.fail(k, 'the offset [0, 0, 0] links every voxel to itself');
      return v;
    });
    return { kind, offsets };
  }
  if (t['classes'] === undefined) {
    c.fail('target.classes', "target 'semantic' needs its classes: their names (label i is class i) or their number");
  }
  const classes =
    typeof t['classes'] === 'number'
      ? c.number(t['classes'], 'target.classes', { integer: true, min: 2 })
      : c.array(t['classes'], 'target.classes').map((n, i) => c.string(n, keyPath('target.classes', i)));
  if (Array.isArray(classes) && classes.length < 2)
    c.fail('target.classes', 'needs at least 2 classes (background and one more)');
  return { kind, classes };
}

function resolveCropWeights(c: Checker, value: unknown): CropWeights {
  if (value === undefined) return RUN_DEFAULTS.cropWeights;
  if (Array.isArray(value)) {
    const w = value.map((x, i) => c.number(x, keyPath('cropWeights', i), { min: 0 }));
    if (w.length === 0 || w.every((x) => x === 0)) c.fail('cropWeights', 'must have a weight above 0');
    return w;
  }
  return c.oneOf(value, 'cropWeights', ['equal', 'size', 'masked'] as const);
}

function resolveAugment(c: Checker, value: unknown): SampleAugmentOptions | false {
  if (value === undefined || value === false) return false;
  if (value === true) return { mirror: true, transpose: true };
  const a = c.object(value, 'augment', [
    'mirror',
    'transpose',
    'intensity',
    'gamma',
    'elastic',
    'noise',
    'intensityScaleShift',
  ]);
  const out: AugmentOptions = {
    mirror:
      a['mirror'] === undefined
        ? true
        : Array.isArray(a['mirror'])
          ? c.array(a['mirror'], 'augment.mirror', 3).map((m, i) => c.boolean(m, keyPath('augment.mirror', i)))
          : c.boolean(a['mirror'], 'augment.mirror'),
    transpose: a['transpose'] === undefined ? true : c.boolean(a['transpose'], 'augment.transpose'),
    intensity: false,
    gamma: false,
  };
  if (a['intensity'] !== undefined && a['intensity'] !== false) {
    const i = c.object(a['intensity'], 'augment.intensity', ['scale', 'shift']);
    out.intensity = {
      scale: i['scale'] === undefined ? [1, 1] : c.range(i['scale'], 'augment.intensity.scale'),
      shift: i['shift'] === undefined ? [0, 0] : c.range(i['shift'], 'augment.intensity.shift'),
    };
  }
  if (a['gamma'] !== undefined && a['gamma'] !== false) out.gamma = c.range(a['gamma'], 'augment.gamma', { above: 0 });
  // elastic, noise, intensityScaleShift: the sampler's own checks, their messages under the key.
  for (const key of ['elastic', 'noise', 'intensityScaleShift'] as const) {
    const v = a[key];
    if (v === undefined || v === false) continue;
    try {
      if (key === 'elastic') checkElasticOptions(v as ElasticOptions);
      else checkRawAugmentOptions({ [key]: v } as RawAugmentOptions);
    } catch (e) {
      c.fail(`augment.${key}`, (e as Error).message.replace(new RegExp(`^augment\\.${key}\\.?`), ''));
    }
    (out as SampleAugmentOptions)[key] = v as never;
  }
  return out;
}

/** Spatial output shape of the configured model for an input shape (valid padding shrinks). */
export function modelOutputSpatialShape(inputShape: readonly number[], model: ModelConfig): number[] {
  return unetOutputShape(inputShape, model).map((s) => s ?? 0);
}

/**
 * The model's geometry keys, checked by unet3d's own rules (its message under the key at fault).
 * The first release's names still work, with a deprecation message: `upsampleFactors` is
 * `outputUpsample`, a `downsampleFactors` of one factor per axis is `outputDownsample`.
 */
const GEOMETRY_KEYS = [
  'depth',
  'downsampleFactors',
  'kernelSizes',
  'padding',
  'convsPerBlock',
  'outputUpsample',
  'outputDownsample',
  'upsampleFactors',
];

function resolveGeometry(c: Checker, m: Record<string, unknown>, warn: (message: string) => void) {
  const keys = ['depth', 'downsampleFactors', 'kernelSizes', 'padding', 'convsPerBlock'] as const;
  for (const key of ['outputUpsample', 'outputDownsample', 'upsampleFactors'] as const) {
    if (m[key] !== undefined) c.shape(m[key], `model.${key}`);
  }
  if (m['depth'] !== undefined) c.number(m['depth'], 'model.depth', { integer: true, min: 0, max: 6 });
  if (m['padding'] !== undefined) c.oneOf(m['padding'], 'model.padding', ['same', 'valid']);
  if (m['convsPerBlock'] !== undefined) c.positiveInt(m['convsPerBlock'], 'model.convsPerBlock');
  try {
    return unetGeometry(
      {
        ...Object.fromEntries(keys.map((k) => [k, m[k]])),
        outputUpsample: m['outputUpsample'] as number[] | undefined,
        outputDownsample: m['outputDownsample'] as number[] | undefined,
        upsampleFactors: m['upsampleFactors'] as number[] | undefined,
      },
      (message) => warn(`${c.source ? `${c.source}: ` : ''}model: ${message.replace(/^unet3d: /, '')}`),
    );
  } catch (e) {
    const message = (e as Error).message.replace(/^unet3d: /, '');
    const first = /^(\w+)(\[\d+\])? /.exec(message);
    if (first && GEOMETRY_KEYS.includes(first[1]!))
      c.fail(`model.${first[1]}${first[2] ?? ''}`, message.slice(first[0].length));
    const named = GEOMETRY_KEYS.find((k) => message.includes(k));
    c.fail(named ? `model.${named}` : 'model', message);
  }
}

/**
 * Keys a resumed run may change: the schedule, the validation, the backend, the learning rate,
 * where the data is. Anything else (the model, target, loss, samples...) would make the resumed run
 * another run.
 */
const RESUMABLE_CHANGES = [
  'name',
  'epochs',
  'seconds',
  'checkpointEvery',
  'validation',
  'backend',
  'optimizer.learningRate',
  'data.path',
];

/** Key paths at which `next` differs from `previous` in a way that breaks resuming, with both values. */
export function resumeConflicts(previous: RunConfig, next: RunConfig): { key: string; was: unknown; now: unknown }[] {
  const out: { key: string; was: unknown; now: unknown }[] = [];
  const walk = (a: unknown, b: unknown, key: string) => {
    if (RESUMABLE_CHANGES.includes(key)) return;
    const objects = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
    if (objects(a) && objects(b)) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], keyPath(key, k));
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ key, was: a, now: b });
  };
  walk(previous, next, '');
  return out.filter((d) => d.key !== 'runDir');
}
