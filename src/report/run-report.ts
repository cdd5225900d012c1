/**
 * The report of any run directory, at any time (also while it trains): from its config.json,
 * loss.jsonl, scores.jsonl and best checkpoints — the loss over batches, VOI (total, split,
 * merge) over epochs per test crop with the best epoch marked, the other scores of the run
 * (ARand, CREMI, per-class scores) over epochs, the tables of best checkpoints (by VOI, and by
 * each other criterion kept, `best-<criterion>/`) and their parameters, and a section of raw |
 * ground truth | prediction | segmentation of each test crop at its best checkpoint (predicted
 * again from the checkpoint and the data).
 */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, readCheckpointInfo } from '../eval/checkpoint.js';
import type { BestScore } from '../eval/hook.js';
import { predictCrop } from '../eval/predict-crop.js';
import { CLASS_SCORES, higherIsBetter, readScores, SCORE_NAMES, scoreValue, type ScoreRow } from '../eval/scores.js';
import { OptionsError } from '../errors.js';
import type { Crop } from '../types.js';
import { lossPath, readJsonl, type LossRow } from '../run/logs.js';
import { openRunData, postProcessorOf, predictOptionsOf } from '../run/setup.js';
import { latestDir, type TrainState } from '../run/state.js';
import { readRunConfig } from '../run/train.js';
import type { RunConfig } from '../run/config.js';
import { type CropReport, type OtherBest, writeReport } from './html.js';
import { lineChartSvg, type Series } from './plot.js';
import { hconcat, imageToPng, labelSliceToRgb, sliceToGray, upscale } from './png.js';

export interface RunReportOptions {
  title?: string;
  notes?: string[];
  /** Reference scores per crop shown next to the model's (e.g. the demo's trivial segmentations). */
  baselines?: ReadonlyMap<string, Record<string, number>>;
  /** Leave the slices out (no data read, no prediction). */
  slices?: boolean;
  /** Called with a line per step (e.g. to print progress). */
  onProgress?: (line: string) => void;
}

/** Mean loss per window of batches, so a long run's curve stays readable. */
function lossSeries(rows: readonly LossRow[]): Series[] {
  const sorted = [...rows].sort((a, b) => a.batch - b.batch);
  const raw: Series = { name: 'loss per batch', points: sorted.map((r) => [r.batch + 1, r.loss]) };
  if (sorted.length <= 200) return [raw];
  const window = Math.ceil(sorted.length / 200);
  const smooth: [number, number][] = [];
  for (let i = 0; i < sorted.length; i += window) {
    const part = sorted.slice(i, i + window);
    smooth.push([part[part.length - 1]!.batch + 1, part.reduce((a, r) => a + r.loss, 0) / part.length]);
  }
  return [{ name: `mean of ${window} batches`, points: smooth }];
}

/** Per epoch, the best value of `criterion` over the parameters. */
function bestValuePerEpoch(rows: readonly ScoreRow[], crop: string, criterion: string): [number, number][] {
  const byEpoch = new Map<number, number>();
  const higher = higherIsBetter(criterion);
  for (const r of rows) {
    const v = r.crop === crop ? scoreValue(r, criterion) : undefined;
    if (v === undefined || !Number.isFinite(v)) continue;
    const b = byEpoch.get(r.epoch);
    if (b === undefined || (higher ? v > b : v < b)) byEpoch.set(r.epoch, v);
  }
  return [...byEpoch].sort((a, b) => a[0] - b[0]).map(([e, v]) => [e + 1, v]);
}

/** A plot per score of the run other than VOI (per-class scores: the mean and each class). */
function scorePlots(rows: readonly ScoreRow[], crop: string): { name: string; svg: string }[] {
  const classes = [...new Set(rows.flatMap((r) => (r.crop === crop ? Object.keys(r.classes ?? {}) : [])))];
  const plots: { name: string; svg: string }[] = [];
  for (const score of SCORE_NAMES) {
    if (score === 'voi') continue;
    const names = CLASS_SCORES.includes(score) ? [score, ...classes.map((c) => `${score}_${c}`)] : [score];
    const series: Series[] = names
      .map((n) => ({
        name: n === score && names.length > 1 ? `${score} (mean)` : n,
        points: bestValuePerEpoch(rows, crop, n),
      }))
      .filter((s) => s.points.length > 0);
    if (series.length === 0) continue;
    const direction = higherIsBetter(score) ? 'higher is better' : 'lower is better';
    plots.push({
      name: score,
      svg: lineChartSvg(series, {
        title: `${crop}: ${score} over epochs (best parameters; ${direction})`,
        xLabel: 'epoch',
        yLabel: score,
      }),
    });
  }
  return plots;
}

/** The criteria of the run's other best checkpoints: its `best-<criterion>/` directories. */
async function otherCriteria(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && e.name.startsWith('best-'))
    .map((e) => e.name.slice('best-'.length))
    .sort();
}

/** Per criterion, the crop's best checkpoint there. */
async function otherBests(dir: string, criteria: string[], crop: string): Promise<OtherBest[]> {
  const out: OtherBest[] = [];
  for (const criterion of criteria) {
    const checkpoint = path.join(dir, `best-${criterion}`, crop);
    const info = await readCheckpointInfo<BestScore>(checkpoint).catch(() => null);
    out.push({
      criterion,
      epoch: info ? info.epoch + 1 : null,
      value: info ? (scoreValue(info, criterion) ?? NaN) : NaN,
      parameters: info?.parameters,
      checkpoint: path.relative(dir, checkpoint),
    });
  }
  return out;
}

/** Per epoch, the score of the best parameters. */
function bestPerEpoch(rows: readonly ScoreRow[], crop: string): ScoreRow[] {
  const byEpoch = new Map<number, ScoreRow>();
  for (const r of rows) {
    if (r.crop !== crop) continue;
    const b = byEpoch.get(r.epoch);
    if (!b || r.voi < b.voi) byEpoch.set(r.epoch, r);
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

function voiPlot(crop: string, rows: ScoreRow[], best: BestScore | null, baselines?: Record<string, number>): string {
  const series: Series[] = [
    { name: 'VOI (best parameters)', points: rows.map((r) => [r.epoch + 1, r.voi]) },
    { name: 'split', points: rows.map((r) => [r.epoch + 1, r.voiSplit]) },
    { name: 'merge', points: rows.map((r) => [r.epoch + 1, r.voiMerge]) },
  ];
  const first = (rows[0]?.epoch ?? 0) + 1;
  const last = (rows[rows.length - 1]?.epoch ?? 0) + 1;
  for (const [name, v] of Object.entries(baselines ?? {})) {
    series.push({
      name,
      points: [
        [first, v],
        [last, v],
      ],
    });
  }
  if (best) {
    const top = Math.max(best.voi, ...rows.map((r) => Math.max(r.voi, r.voiSplit, r.voiMerge)));
    series.push({
      name: `best: epoch ${best.epoch + 1}`,
      points: [
        [best.epoch + 1, 0],
        [best.epoch + 1, top],
      ],
    });
  }
  return lineChartSvg(series, { title: `${crop}: VOI over epochs`, xLabel: 'epoch', yLabel: 'VOI (bits)' });
}

/** A middle section of raw | ground truth | prediction (channel 0) | segmentation at the best checkpoint. */
async function slicePanel(
  config: RunConfig,
  crop: Crop,
  best: BestScore,
  checkpointDir: string,
): Promise<{ png: Uint8Array; caption: string }> {
  let model: tf.LayersModel | null = null;
  try {
    model = await loadCheckpoint(checkpointDir);
    const prediction = await predictCrop(model, crop, predictOptionsOf(config));
    const instances = postProcessorOf(config).apply(prediction.data, prediction.shape, best.parameters);
    const shape = prediction.shape.slice(0, 3);
    const channels = prediction.shape[3]!;
    const [raw, gt] = await Promise.all([crop.readRaw(prediction.roi), crop.labels.read(prediction.roi)]);
    const z = Math.floor(shape[0]! / 2);
    // Raw is read at its own voxel size; show it only where it matches the labels' grid.
    const rawGray =
      raw.length === gt.length * crop.raw.channels ? raw.filter((_, i) => i % crop.raw.channels === 0) : null;
    const predGray = prediction.data.filter((_, i) => i % channels === 0);
    const panels = [
      ...(rawGray ? [sliceToGray(rawGray, shape, z, { range: [0, 1] })] : []),
      labelSliceToRgb(gt, shape, z),
      sliceToGray(predGray, shape, z, { range: [0, 1] }),
      labelSliceToRgb(instances, shape, z),
    ];
    const width = shape[2]!;
    const png = imageToPng(upscale(hconcat(panels), Math.max(1, Math.min(4, Math.floor(256 / width)))));
    const params = Object.entries(best.parameters)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return {
      png,
      caption:
        `section z = ${z} of ${crop.name} at epoch ${best.epoch + 1}: ${rawGray ? 'raw | ' : ''}ground truth | ` +
        `prediction${channels > 1 ? ' (channel 0)' : ''} | segmentation${params ? ` (${params})` : ''}`,
    };
  } finally {
    model?.dispose();
  }
}

/**
 * Writes `<runDir>/report/index.html` (and its images) for the run in `runDir`; returns its path.
 * (long: reads the run (config, losses, scores, best checkpoints) and builds each crop's section in
 * one pass; the per-crop pieces are already helpers.)
 */
export async function writeRunReport(runDir: string, options: RunReportOptions = {}): Promise<string> {
  const dir = path.resolve(runDir);
  const config = await readRunConfig(dir);
  if (!config)
    throw new OptionsError(`${dir} is not a run directory: it has no config.json (tfjs-zarr train writes one)`);
  const say = options.onProgress ?? (() => undefined);
  const [losses, scores, state] = await Promise.all([
    readJsonl<LossRow>(lossPath(dir)),
    readScores(dir),
    readCheckpointInfo<TrainState>(latestDir(dir)).catch(() => null),
  ]);

  let testCrops: readonly Crop[] | null = null;
  const notes = [...(options.notes ?? [])];
  if (options.slices ?? true) {
    try {
      testCrops = (await openRunData(config)).test;
    } catch (e) {
      notes.push(
        `The data (${config.data.path}) could not be read, so the slices are left out: ${(e as Error).message}`,
      );
    }
  }
  const cropNames = testCrops?.map((c) => c.name) ?? [...new Set(scores.map((r) => r.crop))].sort();
  const criteria = await otherCriteria(dir);

  const crops: CropReport[] = [];
  for (const name of cropNames) {
    const checkpoint = path.join(dir, 'best', name);
    const best = await readCheckpointInfo<BestScore>(checkpoint).catch(() => null);
    const rows = bestPerEpoch(scores, name);
    const report: CropReport = {
      name,
      bestEpoch: best ? best.epoch + 1 : null,
      voi: best?.voi ?? NaN,
      voiSplit: best?.voiSplit ?? NaN,
      voiMerge: best?.voiMerge ?? NaN,
      parameters: best?.parameters,
      checkpoint: path.relative(dir, checkpoint),
      plotSvg: voiPlot(name, rows, best, options.baselines?.get(name)),
      baselines: options.baselines?.get(name),
      otherBests: await otherBests(dir, criteria, name),
      scorePlots: scorePlots(scores, name),
    };
    const crop = testCrops?.find((c) => c.name === name);
    if (best && crop) {
      say(`report: predicting ${name} with its best checkpoint (epoch ${best.epoch + 1})`);
      // A run still training may replace the checkpoint while we read it: try again once.
      const panel = await slicePanel(config, crop, best, checkpoint).catch(() =>
        slicePanel(config, crop, best, checkpoint).catch((e: Error) => e),
      );
      if (panel instanceof Error)
        report.sliceCaption = `No slice: the best checkpoint could not be read (${panel.message})`;
      else {
        report.slicePng = panel.png;
        report.sliceCaption = panel.caption;
      }
    }
    crops.push(report);
  }

  const epochsDone = state ? state.epoch : Math.max(0, ...losses.map((r) => r.epoch + 1));
  const summary: [string, string][] = [
    ['run directory', dir],
    ['data', config.data.path],
    [
      'trained',
      `${epochsDone} of ${config.epochs} epochs, ${losses.length} batches of ${config.batchSize}` +
        (state && state.epoch < config.epochs
          ? ` (resume point: epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1})`
          : state
            ? ' (complete)'
            : ''),
    ],
    [
      'model',
      `unet3d, ${config.model.baseFilters} base filters, depth ${config.model.depth}, ${config.model.padding} padding, ` +
        `${config.model.outputChannels} output channels (${config.model.finalActivation})`,
    ],
    [
      'target',
      config.target.kind === 'affinities'
        ? `affinities, offsets ${JSON.stringify(config.target.offsets)}`
        : config.target.kind === 'semantic'
          ? `semantic, classes ${JSON.stringify(config.target.classes)}`
          : config.target.kind === 'distance'
            ? `distance, scale factor ${config.target.scaleFactor}` +
              (config.target.classes ? `, classes ${JSON.stringify(config.target.classes)}` : '') +
              `, distances masked: ${config.target.maskDistances ?? true}`
            : 'boundary',
    ],
    [
      'training',
      `${config.loss}, ${config.optimizer.name} (learning rate ${config.optimizer.learningRate}), input ` +
        `${config.inputShape.join('×')}, minMasked ${config.minMasked}, seed ${config.seed}`,
    ],
  ];
  const lossSvg =
    losses.length > 0
      ? lineChartSvg(lossSeries(losses), { title: 'training loss', xLabel: 'batch', yLabel: 'loss', markers: false })
      : undefined;
  notes.push(
    'VOI = H(pred|gt) + H(gt|pred) in bits over labelled, known voxels (lower is better); epochs counted from 1.',
  );
  return writeReport(dir, { title: options.title ?? `tfjs-zarr run ${config.name}`, crops, notes, summary, lossSvg });
}
