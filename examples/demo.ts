/**
 * The whole job on an embedded default: `npm run demo`.
 *
 * Generates (once) a synthetic EM-like container in the DaCapo crops layout, trains a small 3D
 * U-Net on the train crops for a few minutes with the fastest backend, evaluates every test crop
 * after each epoch with the ValidationHook (VOI, best checkpoint per crop), and writes a report
 * (VOI curves, slices of raw | ground truth | prediction | segmentation) into the run directory.
 *
 *   npm run demo                      # about 4 minutes of training
 *   npm run demo -- --seconds 600     # longer
 *   npm run demo -- --smoke           # a handful of batches on a tiny container (CI)
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  DataConfig,
  ValidationHook,
  boundaryPostProcessor,
  describeBackend,
  loadCheckpoint,
  maskedLoss,
  openDataSplit,
  predictCrop,
  readScores,
  trainingDataset,
  unet3d,
  useFastestBackend,
  type Evaluation,
} from '../src/index.js';
import { exampleArgs } from './common.js';
import { baselineScores, type Baselines } from './synthetic/baselines.js';
import { describeDemoCrops, ensureDemoContainer } from './synthetic/write-container.js';
import { writeReport, type CropReport } from '../src/report/html.js';
import { lineChartSvg } from '../src/report/plot.js';
import { hconcat, imageToPng, labelSliceToRgb, sliceToGray, upscale } from '../src/report/png.js';

const { smoke, option: value } = exampleArgs();
const seconds = Number(value('seconds', process.env['DEMO_SECONDS'] ?? (smoke ? '0' : '240')));
const dataDir = path.resolve(value('data', smoke ? 'demo-data/demo-small.zarr' : 'demo-data/demo.zarr'));
const runDir = path.resolve(value('run', smoke ? 'runs/demo-smoke' : 'runs/demo'));

const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];
const BATCH = smoke ? 2 : 4;
const BATCHES_PER_EPOCH = smoke ? 2 : 16;
const MAX_EPOCHS = smoke ? 2 : 1000;
// Prediction keeps the centre of each tile, so tile borders (zero padding) stay out of the result.
const PREDICT_OUTPUT = smoke ? [8, 16, 16] : [12, 40, 40];

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  log('tfjs-zarr demo: train a 3D U-Net on DaCapo-style zarr crops, judge each test crop by VOI');
  log();
  const generated = await ensureDemoContainer(dataDir, { small: smoke });
  log(`${generated ? 'Generated' : 'Using'} the synthetic EM container ${path.relative(process.cwd(), dataDir)}:`);
  for (const line of describeDemoCrops({ small: smoke })) log(`  ${line}`);

  const backend = await useFastestBackend({ quiet: true });
  log(`\nBackend: ${describeBackend()}`);

  const split = await openDataSplit(new DataConfig({ path: dataDir }));
  log(
    `Layout: ${split.layout}; train ${split.train.map((c) => c.name).join(', ')}; test ${split.test.map((c) => c.name).join(', ')}`,
  );

  await rm(runDir, { recursive: true, force: true });
  const model = unet3d({ inputShape: [...INPUT, 1], outputChannels: 1, baseFilters: smoke ? 4 : 8, depth: 2, seed: 1 });
  model.compile({ optimizer: tf.train.adam(smoke ? 1e-3 : 3e-3), loss: maskedLoss('binaryCrossentropy') });
  log(`Model: ${model.name}, ${model.countParams()} parameters, input ${INPUT.join('×')} voxels, batch ${BATCH}`);

  const dataset = trainingDataset(split.train, {
    inputShape: INPUT,
    batchSize: BATCH,
    seed: 1,
    target: 'boundary',
    minMasked: 0.5,
    augment: { mirror: true, transpose: true, intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] } },
  });

  const printEvaluation = (e: Evaluation) => {
    const parts = e.best.map(
      (s) =>
        `${s.crop} VOI ${s.voi.toFixed(3)} (split ${s.voiSplit.toFixed(3)}, merge ${s.voiMerge.toFixed(3)}, threshold ${s.parameters['threshold']})`,
    );
    clearLine();
    log(
      `  after epoch ${e.epoch + 1}: ${parts.join('; ')}${e.improved.length ? `  [new best: ${e.improved.join(', ')}]` : ''}`,
    );
  };
  const hook = new ValidationHook({
    crops: split.test,
    runDir,
    every: 1,
    postProcessor: boundaryPostProcessor(),
    predict: { outputShape: PREDICT_OUTPUT, batchSize: 4 },
    onEvaluation: printEvaluation,
  });

  log(
    `\nTraining for ${smoke ? `${MAX_EPOCHS} epochs of ${BATCHES_PER_EPOCH} batches (smoke mode)` : `about ${seconds} s`}; run directory ${path.relative(process.cwd(), runDir)}`,
  );
  const start = performance.now();
  let samples = 0;
  let epochNow = 0;
  const progress = new tf.CustomCallback({
    onEpochBegin: (epoch) => {
      epochNow = epoch + 1;
    },
    onBatchEnd: (batch, logs) => {
      samples += BATCH;
      const elapsed = (performance.now() - start) / 1000;
      const bar = '#'.repeat(batch + 1).padEnd(BATCHES_PER_EPOCH, '.');
      const line =
        `  epoch ${epochNow} [${bar}] batch ${batch + 1}/${BATCHES_PER_EPOCH}  loss ${(logs?.['loss'] ?? NaN).toFixed(4)}  ` +
        `${(samples / elapsed).toFixed(1)} samples/s  ${elapsed.toFixed(0)} s`;
      // A live bar on a terminal; one line per epoch in a log.
      if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
      else if (batch + 1 === BATCHES_PER_EPOCH) log(line);
    },
    onEpochEnd: () => {
      if (!smoke && (performance.now() - start) / 1000 > seconds) model.stopTraining = true;
    },
  });
  await model.fitDataset(dataset, {
    epochs: MAX_EPOCHS,
    batchesPerEpoch: BATCHES_PER_EPOCH,
    callbacks: [progress, hook],
    verbose: 0,
  });
  clearLine();
  log(
    `Trained ${epochNow} epochs (${samples} samples) in ${((performance.now() - start) / 1000).toFixed(0)} s on ${backend}.`,
  );

  // Baselines, the final table and the report.
  const scores = await readScores(runDir);
  const reports: CropReport[] = [];
  const table: string[][] = [
    ['crop', 'best epoch', 'VOI split', 'VOI merge', 'VOI', 'one segment', 'raw threshold', '+ grown', 'checkpoint'],
  ];
  const baselines = new Map<string, Baselines>();
  for (const crop of split.test) {
    const best = hook.best.get(crop.name)!;
    const base = await baselineScores(crop);
    baselines.set(crop.name, base);
    table.push([
      crop.name,
      String(best.epoch + 1),
      best.voiSplit.toFixed(3),
      best.voiMerge.toFixed(3),
      best.voi.toFixed(3),
      base.oneSegment.toFixed(3),
      base.rawThreshold.toFixed(3),
      base.rawThresholdGrown.toFixed(3),
      path.relative(process.cwd(), best.checkpoint),
    ]);
    reports.push(await cropReport(crop, best, base, scores));
  }
  log('\nBest VOI per test crop (lower is better; epochs counted from 1), against trivial segmentations:');
  printTable(table);
  const index = await writeReport(runDir, {
    title: 'tfjs-zarr demo',
    crops: reports,
    notes: [
      `Backend ${describeBackend()}`,
      `${epochNow} epochs × ${BATCHES_PER_EPOCH} batches of ${BATCH} patches of ${INPUT.join('×')} voxels`,
      "VOI = H(pred|gt) + H(gt|pred) in bits over labelled, known voxels; one segment = every voxel in one segment; raw threshold = connected components of thresholded raw (best threshold); grown = the same grown into unlabelled voxels, as the model's post-processing does.",
    ],
  });
  log(`\nReport: ${path.relative(process.cwd(), index)}`);
  const beaten = split.test.every((c) => {
    const b = baselines.get(c.name)!;
    return hook.best.get(c.name)!.voi < Math.min(b.oneSegment, b.rawThreshold, b.rawThresholdGrown);
  });
  log(
    beaten
      ? 'Every test crop beats the trivial segmentations.'
      : 'Not every test crop beats the trivial segmentations yet (train longer: --seconds 600).',
  );

  async function cropReport(
    crop: (typeof split.test)[number],
    best: NonNullable<ReturnType<typeof hook.best.get>>,
    base: Baselines,
    rows: typeof scores,
  ): Promise<CropReport> {
    const bestModel = await loadCheckpoint(best.checkpoint);
    const prediction = await predictCrop(bestModel, crop, { outputShape: PREDICT_OUTPUT, batchSize: 4 });
    bestModel.dispose();
    const instances = boundaryPostProcessor().apply(prediction.data, prediction.shape, best.parameters);
    const region = crop.labels.roi;
    const shape = prediction.shape.slice(0, 3);
    const [raw, gt] = await Promise.all([crop.readRaw(region), crop.labels.read(region)]);
    const z = Math.floor(shape[0]! / 2);
    const rawGray = crop.raw.channels === 1 ? raw : raw.filter((_, i) => i % crop.raw.channels === 0);
    const predGray = prediction.data.filter((_, i) => i % prediction.shape[3]! === 0);
    const panel = hconcat([
      sliceToGray(rawGray, shape, z, { range: [0, 1] }),
      labelSliceToRgb(gt, shape, z),
      sliceToGray(predGray, shape, z, { range: [0, 1] }),
      labelSliceToRgb(instances, shape, z),
    ]);
    const epochs = [...new Set(rows.filter((r) => r.crop === crop.name).map((r) => r.epoch))].sort((a, b) => a - b);
    const bestPerEpoch = epochs.map((e) => {
      const of = rows.filter((r) => r.crop === crop.name && r.epoch === e);
      const b = of.reduce((x, y) => (y.voi < x.voi ? y : x));
      return b;
    });
    const span = (v: number): [number, number][] => [
      [(epochs[0] ?? 0) + 1, v],
      [(epochs[epochs.length - 1] ?? 1) + 1, v],
    ];
    const plotSvg = lineChartSvg(
      [
        { name: 'VOI (best threshold)', points: bestPerEpoch.map((r) => [r.epoch + 1, r.voi]) },
        { name: 'split', points: bestPerEpoch.map((r) => [r.epoch + 1, r.voiSplit]) },
        { name: 'merge', points: bestPerEpoch.map((r) => [r.epoch + 1, r.voiMerge]) },
        { name: 'one segment', points: span(base.oneSegment) },
        { name: 'raw threshold', points: span(base.rawThreshold) },
        { name: 'raw threshold, grown', points: span(base.rawThresholdGrown) },
      ],
      { title: `${crop.name}: VOI over epochs`, xLabel: 'epoch', yLabel: 'VOI (bits)' },
    );
    return {
      name: crop.name,
      bestEpoch: best.epoch + 1,
      voi: best.voi,
      voiSplit: best.voiSplit,
      voiMerge: best.voiMerge,
      checkpoint: best.checkpoint,
      plotSvg,
      slicePng: imageToPng(upscale(panel, 3)),
      sliceCaption: `section z = ${z}: raw | ground truth | prediction | segmentation (threshold ${best.parameters['threshold']})`,
      baselines: {
        'one segment': base.oneSegment,
        'raw threshold': base.rawThreshold,
        'raw threshold, grown': base.rawThresholdGrown,
      },
    };
  }
}

function clearLine(): void {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  rows.forEach((r, i) => {
    log(
      `  ${r.map((v, c) => (c === 0 || c === r.length - 1 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')}`,
    );
    if (i === 0) log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  });
}

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
