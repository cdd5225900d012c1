/**
 * The run config of `tfjs-zarr train`: one JSON document with DaCapo's vocabulary (data split,
 * architecture, task/target, trainer: loss, optimizer, batch size, min_masked, augments,
 * iterations, validation interval, post-processing sweep), checked before anything runs and
 * completed with defaults into the effective config that is written to `<runDir>/config.json`.
 * Its keys, types and defaults are defined once, in schema.ts; here are the steps around the
 * schema: shorthands and command-line flags before it, the defaults and checks that join several
 * keys after it.
 *
 * Relative paths (`data.path`, `runDir`) are relative to the working directory; the effective
 * config stores them absolute, so `tfjs-zarr train runs/x/config.json` works from anywhere.
 */
import * as path from 'node:path';
import { DISTANCE_SEED_THRESHOLDS, DISTANCE_THRESHOLDS } from '../eval/postprocess.js';
import { CLASS_SCORES, checkCriterion } from '../eval/scores.js';
import { type Triple, unetOutputShape, unetValidInputShape } from '../models/unet.js';
import type { DistanceOptions } from '../train/targets/distance.js';
import { ConfigError, keyPath } from './check.js';
import { type ParsedRunConfig, runConfigSchema } from './schema.js';
import { defaultsOf, parseOrThrow, resumableKeys } from './schema-tools.js';

export type TargetConfig = ParsedRunConfig['target'];
export type OptimizerConfig = ParsedRunConfig['optimizer'];
export type ValidationConfig = ParsedRunConfig['validation'];
export type BackendChoice = ParsedRunConfig['backend'];
type Filled<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };
export type ModelConfig = Filled<
  Omit<ParsedRunConfig['model'], 'kernelSizes'>,
  'finalActivation' | 'outputChannels' | 'seed' | 'depth' | 'downsampleFactors'
> & {
  /** Per level, the bottom included: [kz, ky, kx]. */
  kernelSizes: Triple[];
};

/** The effective config: every key present (defaults filled, paths absolute). */
export interface RunConfig extends Filled<Omit<ParsedRunConfig, 'model'>, 'name' | 'runDir' | 'loss'> {
  model: ModelConfig;
}

/** The defaults of the keys that have one of their own (see schema.ts). */
export const RUN_DEFAULTS = defaultsOf(runConfigSchema) as Pick<
  ParsedRunConfig,
  Exclude<keyof ParsedRunConfig, 'name' | 'runDir' | 'data' | 'loss'>
>;

/** Values given on the command line, applied over the config file. */
export interface RunFlags {
  data?: string;
  run?: string;
  epochs?: number;
  seconds?: number;
  target?: string;
  backend?: string;
  threads?: number;
}

/** Channels of a target (model output), for checks and for sizing the model. */
export function targetOutputChannels(target: TargetConfig): number {
  if (target.kind === 'boundary') return 1;
  if (target.kind === 'affinities') return target.offsets.length;
  if (target.kind === 'distance') return target.classes?.length ?? 1;
  return typeof target.classes === 'number' ? target.classes : target.classes.length;
}

/** The classes a target is scored by class (semantic: names of classes 1 …; distance: its channels). */
export function targetClassNames(target: TargetConfig): string[] {
  if (target.kind === 'semantic') {
    return typeof target.classes === 'number'
      ? Array.from({ length: target.classes - 1 }, (_, i) => String(i + 1))
      : target.classes.slice(1);
  }
  if (target.kind === 'distance') {
    return target.classes ? target.classes.map((c) => (Array.isArray(c) ? c.join('+') : String(c))) : ['fg'];
  }
  return [];
}

/** The distance target's options (the target's keys but `kind`). */
export function distanceOptionsOf(target: Extract<TargetConfig, { kind: 'distance' }>): DistanceOptions {
  const { kind: _kind, ...options } = target;
  return options;
}

function isUrl(p: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
}

function absolute(p: string, cwd: string): string {
  return isUrl(p) ? p : path.resolve(cwd, p);
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * The file's shorthands spelled out (`data: 'x.zarr'`, `target: 'boundary'`, `augment: true`) and
 * the flags applied over it. `keyNames` maps a key path to the name a message gives it: the flag's
 * when the value came from the command line, `target` for the kind of a target given as a string.
 */
function expand(
  json: unknown,
  flags: RunFlags,
  warn: (message: string) => void,
  source: string | undefined,
): { input: unknown; keyNames: Map<string, string> } {
  const keyNames = new Map<string, string>();
  if (!isObject(json ?? {})) return { input: json, keyNames };
  const top: Record<string, unknown> = { ...(json as Record<string, unknown> | null) };
  if (isObject(top['model'])) top['model'] = renameDeprecated(top['model'], keyNames, warn, source);
  if (typeof top['data'] === 'string') top['data'] = { path: top['data'] };
  if (top['data'] === undefined) top['data'] = {}; // so that the message names data.path
  if (flags.data !== undefined) top['data'] = { ...(isObject(top['data']) ? top['data'] : {}), path: flags.data };
  if (typeof top['target'] === 'string') {
    top['target'] = { kind: top['target'] };
    keyNames.set('target.kind', 'target');
  }
  // --target names the kind; the file's offsets or classes stay when it names the same kind.
  if (flags.target !== undefined && (top['target'] as { kind?: unknown } | undefined)?.kind !== flags.target) {
    top['target'] = { kind: flags.target };
    keyNames.set('target.kind', '--target');
  }
  if (top['augment'] === true) top['augment'] = {};
  if (flags.run !== undefined) top['runDir'] = flags.run;
  for (const key of ['epochs', 'seconds', 'backend', 'threads'] as const) {
    if (flags[key] === undefined) continue;
    top[key] = flags[key];
    keyNames.set(key, `--${key}`);
  }
  return { input: top, keyNames };
}

const isNumbers = (x: unknown): x is number[] => Array.isArray(x) && x.every((n) => typeof n === 'number');

/**
 * The first release's model keys under their new names, with a deprecation message:
 * `upsampleFactors` is `outputUpsample`, a `downsampleFactors` of one factor per axis
 * (`[1, 2, 2]`) is `outputDownsample` (a list of [z, y, x] is the per-level pooling).
 */
function renameDeprecated(
  model: Record<string, unknown>,
  keyNames: Map<string, string>,
  warn: (message: string) => void,
  source: string | undefined,
): Record<string, unknown> {
  const out = { ...model };
  const renames = [
    ['upsampleFactors', 'outputUpsample', 'upsampleFactors is deprecated; it is now called outputUpsample'],
    [
      'downsampleFactors',
      'outputDownsample',
      "downsampleFactors of one factor per axis is deprecated: the output's downsampling is now " +
        "outputDownsample; downsampleFactors lists each level's pooling factors [z, y, x]",
    ],
  ] as const;
  for (const [old, now, message] of renames) {
    if (out[old] === undefined || (old === 'downsampleFactors' && !(isNumbers(out[old]) && out[old].length > 0))) {
      continue;
    }
    if (out[now] !== undefined) {
      throw new ConfigError(`model.${old}`, `give ${now} alone (${old} is its deprecated name)`, source);
    }
    warn(`model: ${message}`);
    out[now] = out[old];
    delete out[old];
    keyNames.set(`model.${now}`, `model.${old}`);
  }
  return out;
}

/**
 * Checks a parsed run config (and flags over it) and fills in the defaults. Throws a ConfigError
 * naming the key at fault; `source` (the file name) prefixes its message.
 */
export function resolveRunConfig(
  json: unknown,
  options: { source?: string; cwd?: string; flags?: RunFlags; warn?: (message: string) => void } = {},
): RunConfig {
  const warn = options.warn ?? console.warn;
  const { input, keyNames } = expand(
    json,
    options.flags ?? {},
    (m) => warn(options.source ? `${options.source}: ${m}` : m),
    options.source,
  );
  const fail = (key: string, message: string): never => {
    throw new ConfigError(keyNames.get(key) ?? key, message, options.source);
  };
  const parsed = parseOrThrow(runConfigSchema, input, (k) => keyNames.get(k) ?? k, options.source);
  const cwd = options.cwd ?? process.cwd();
  const data = { ...parsed.data, path: absolute(parsed.data.path, cwd) };
  const model = resolveModel(parsed, fail);
  const config: RunConfig = {
    ...parsed,
    ...runNames(parsed, data.path, cwd),
    data,
    model,
    loss: resolveLoss(parsed, model, fail),
  };
  resolveTasks(config, input, fail);
  checkShapes(config, fail);
  return config;
}

type Fail = (key: string, message: string) => never;

/** The run's name (given, else its directory's, else the data's) and directory (default runs/<name>). */
function runNames(parsed: ParsedRunConfig, dataPath: string, cwd: string): { name: string; runDir: string } {
  const dataName =
    parsed.data.name ?? (path.basename(dataPath.replace(/[/\\]+$/, '')).replace(/\.(zip|zarr|n5)$/gi, '') || 'run');
  const name = parsed.name ?? (parsed.runDir !== undefined ? path.basename(parsed.runDir) : dataName);
  return { name, runDir: absolute(parsed.runDir ?? path.join('runs', name), cwd) };
}

/** The model's defaults that follow from the target and the seed, and the checks between them. */
function resolveModel(parsed: ParsedRunConfig, fail: Fail): ModelConfig {
  const { target } = parsed;
  const channels = targetOutputChannels(target);
  const model: ModelConfig = {
    ...parsed.model,
    ...resolveLevels(parsed.model, fail),
    // Tanh distances lie in [−1, 1]: a linear output, as DaCapo's DistanceTask head.
    finalActivation:
      parsed.model.finalActivation ??
      (target.kind === 'semantic' ? 'softmax' : target.kind === 'distance' ? 'linear' : 'sigmoid'),
    outputChannels: parsed.model.outputChannels ?? channels,
    seed: parsed.model.seed ?? parsed.seed,
  };
  if (model.outputUpsample?.some((f) => f > 1) && model.outputDownsample?.some((f) => f > 1)) {
    fail('model.outputDownsample', 'give outputUpsample or outputDownsample, not both');
  }
  if (model.outputChannels !== channels) {
    fail(
      'model.outputChannels',
      `${model.outputChannels} channels do not fit target '${target.kind}', which needs ${channels} ` +
        `(${describeTargetChannels(target)}); leave outputChannels out to size the model by the target`,
    );
  }
  if (model.finalActivation === 'softmax' && channels === 1) {
    fail('model.finalActivation', "'softmax' over 1 output channel is always 1; use 'sigmoid'");
  }
  return model;
}

/** The U-Net's levels: depth, pooling factors and kernel sizes per level, filled and checked against each other. */
function resolveLevels(
  model: ParsedRunConfig['model'],
  fail: Fail,
): Pick<ModelConfig, 'depth' | 'downsampleFactors' | 'kernelSizes'> {
  const given = model.downsampleFactors;
  if (given !== undefined && model.depth !== undefined && given.length !== model.depth) {
    fail('model.depth', `must match the levels of downsampleFactors: depth ${model.depth}, ${given.length} level(s)`);
  }
  const depth = given?.length ?? model.depth ?? 2;
  const kernels = model.kernelSizes ?? Array.from({ length: depth + 1 }, () => 3);
  if (kernels.length !== depth + 1) {
    fail(
      'model.kernelSizes',
      `needs one kernel size per level, ${depth + 1} for depth ${depth} (the bottom included), got ${kernels.length}`,
    );
  }
  return {
    depth,
    downsampleFactors: given ?? Array.from({ length: depth }, () => [2, 2, 2] as Triple),
    kernelSizes: kernels.map((k) => (typeof k === 'number' ? [k, k, k] : [k[0]!, k[1]!, k[2]!])),
  };
}

function describeTargetChannels(target: TargetConfig): string {
  if (target.kind === 'boundary') return 'one boundary/interior channel';
  if (target.kind === 'affinities') return `one per offset: ${target.offsets.length} offsets`;
  if (target.kind === 'distance') return target.classes ? 'one per class' : 'one distance channel (labels ≠ 0)';
  return 'one per class';
}

/** The loss (default by the target), checked against the target and the final activation. */
function resolveLoss(parsed: ParsedRunConfig, model: ModelConfig, fail: Fail): RunConfig['loss'] {
  const kind = parsed.target.kind;
  // DaCapo's DistanceTask trains with MSELoss on tanh distances in [−1, 1].
  const loss =
    parsed.loss ??
    (kind === 'semantic' ? 'categoricalCrossentropy' : kind === 'distance' ? 'meanSquaredError' : 'binaryCrossentropy');
  if (loss === 'binaryCrossentropy' && kind === 'distance') {
    fail('loss', "target 'distance' (tanh distances in [−1, 1]) needs 'meanSquaredError', as DaCapo's MSELoss");
  }
  if (loss === 'categoricalCrossentropy' && kind !== 'semantic') {
    fail('loss', `'categoricalCrossentropy' needs target 'semantic' (one channel per class), not '${kind}'`);
  }
  if (loss === 'categoricalCrossentropy' && model.finalActivation !== 'softmax') {
    fail('model.finalActivation', `loss 'categoricalCrossentropy' needs 'softmax', got '${model.finalActivation}'`);
  }
  if (loss === 'binaryCrossentropy' && model.finalActivation === 'linear') {
    fail(
      'model.finalActivation',
      "loss 'binaryCrossentropy' needs outputs in [0, 1]: 'sigmoid' (or 'softmax'), not 'linear'",
    );
  }
  return loss;
}

/**
 * The checks and defaults of the tasks' keys that depend on the target: the distance target's
 * threshold sweep (tanh distances in [−1, 1]), thresholds below 0 for it only, watershed for
 * boundary and distance targets only, per-class scores and criteria against the target's classes.
 */
function resolveTasks(config: RunConfig, input: unknown, fail: Fail): void {
  const { target, validation: v } = config;
  const given = (input as { validation?: { thresholds?: unknown } } | null)?.validation?.thresholds !== undefined;
  if (target.kind === 'distance' && !given) {
    v.thresholds = [...(v.postProcessing === 'watershed' ? DISTANCE_SEED_THRESHOLDS : DISTANCE_THRESHOLDS)];
  }
  if (target.kind !== 'distance') {
    v.thresholds.forEach((t, i) => {
      if (t < 0)
        fail(keyPath('validation.thresholds', i), `must be at least 0, got ${t} (below 0: distance targets only)`);
    });
  }
  if (v.postProcessing === 'watershed' && target.kind !== 'boundary' && target.kind !== 'distance') {
    fail('validation.postProcessing', `'watershed' is for targets 'boundary' and 'distance', not '${target.kind}'`);
  }
  const classes = targetClassNames(target);
  const perClass = v.scores.filter((s) => (CLASS_SCORES as readonly string[]).includes(s));
  if (perClass.length > 0 && classes.length === 0) {
    fail('validation.scores', `${perClass.join(', ')} are per-class scores, for targets 'semantic' and 'distance'`);
  }
  const criterion = (key: string, name: string) => {
    try {
      checkCriterion(name, classes);
    } catch (e) {
      fail(key, (e as Error).message);
    }
  };
  criterion('validation.criterion', v.criterion);
  v.keepBestBy.forEach((c, i) => {
    criterion(keyPath('validation.keepBestBy', i), c);
  });
}

/** The input shape against the model, the kept prediction against its output, the sweep. */
function checkShapes(config: RunConfig, fail: Fail): void {
  const { model, inputShape, validation } = config;
  const fits = unetOutputShape(inputShape, model);
  const next = unetValidInputShape(inputShape, model);
  inputShape.forEach((size, axis) => {
    if (fits[axis] == null) {
      const factors = model.downsampleFactors.map((f) => f[axis]).join('×') || 'none';
      fail(
        keyPath('inputShape', axis),
        `${size} voxels along ${'zyx'[axis]} do not fit the model (pooling ${factors} along ${'zyx'[axis]}, ` +
          `'${model.padding}' padding: every size to pool must be a multiple of its factor); ` +
          `the next size that fits is ${next[axis]}`,
      );
    }
  });
  if (validation.thresholds.length === 0 && config.target.kind !== 'semantic') {
    fail('validation.thresholds', 'must list at least one threshold to sweep');
  }
  const output = modelOutputSpatialShape(inputShape, model);
  const kept = validation.predictOutputShape;
  if (kept?.some((s, i) => s > output[i]!)) {
    fail(
      'validation.predictOutputShape',
      `[${kept.join(', ')}] is larger than the model's output [${output.join(', ')}] for inputShape [${inputShape.join(', ')}]`,
    );
  }
}

/** Spatial output shape of the configured model for an input shape (valid padding shrinks). */
export function modelOutputSpatialShape(inputShape: readonly number[], model: ModelConfig): number[] {
  return unetOutputShape(inputShape, model).map((s) => s ?? 0);
}

/**
 * Keys a resumed run may change (marked `resumable` in schema.ts): the schedule, the validation,
 * the backend, the learning rate, where the data is. Anything else (the model, target, loss,
 * samples...) would make the resumed run another run.
 */
const RESUMABLE_CHANGES = resumableKeys(runConfigSchema);

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
