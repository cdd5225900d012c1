/**
 * The whole job on an embedded default: `npm run demo`, a thin use of `tfjs-zarr train` and
 * `tfjs-zarr report` on synthetic data.
 *
 * Generates (once) a synthetic EM-like container in the DaCapo crops layout and a run config
 * for it, trains with exactly what `npx tfjs-zarr train <config>` runs (fastest backend, progress,
 * validation of every test crop after each epoch, best checkpoint per crop, resume point, Ctrl-C
 * saves), then prints the best VOI per test crop against trivial segmentations and writes the
 * run's report with them.
 *
 *   npm run demo                      # about 4 minutes of training
 *   npm run demo -- --seconds 600     # longer
 *   npm run demo -- --smoke           # a handful of batches on a tiny container (CI)
 */
import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DataConfig, openDataSplit, readCheckpointInfo, type BestScore } from '../src/index.js';
import { run as train } from '../src/cli/train.js';
import { writeRunReport } from '../src/report/run-report.js';
import { exampleArgs } from './common.js';
import { baselineScores } from './synthetic/baselines.js';
import { describeDemoCrops, ensureDemoContainer } from './synthetic/write-container.js';

const { smoke, option: value } = exampleArgs();
const seconds = Number(value('seconds', process.env['DEMO_SECONDS'] ?? (smoke ? '0' : '240')));
const dataDir = path.resolve(value('data', smoke ? 'demo-data/demo-small.zarr' : 'demo-data/demo.zarr'));
const runDir = path.resolve(value('run', smoke ? 'runs/demo-smoke' : 'runs/demo'));

/** The demo's run config: what a user would write in run.json for this data. */
const RUN_CONFIG = {
  name: 'demo',
  data: dataDir,
  runDir,
  model: { baseFilters: smoke ? 4 : 8, depth: 2, seed: 1 },
  target: 'boundary',
  optimizer: { name: 'adam', learningRate: smoke ? 1e-3 : 3e-3 },
  batchSize: smoke ? 2 : 4,
  inputShape: smoke ? [8, 16, 16] : [16, 48, 48],
  minMasked: 0.5,
  augment: { mirror: true, transpose: true, intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] } },
  seed: 1,
  epochs: smoke ? 2 : 1000,
  batchesPerEpoch: smoke ? 2 : 16,
  ...(smoke ? {} : { seconds }),
  // Validation tiles are seamless by default (each keeps its centre beyond the U-Net's receptive margin).
  validation: { interval: 1 },
};

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  log('tfjs-zarr demo: train a 3D U-Net on DaCapo-style zarr crops, judge each test crop by VOI');
  log();
  const generated = await ensureDemoContainer(dataDir, { small: smoke });
  log(`${generated ? 'Generated' : 'Using'} the synthetic EM container ${path.relative(process.cwd(), dataDir)}:`);
  for (const line of describeDemoCrops({ small: smoke })) log(`  ${line}`);

  const configFile = `${dataDir}.run.json`;
  await writeFile(configFile, `${JSON.stringify(RUN_CONFIG, null, 2)}\n`);
  log(`\nRun config ${path.relative(process.cwd(), configFile)}; the demo now runs`);
  log(`  npx tfjs-zarr train ${path.relative(process.cwd(), configFile)}\n`);
  await rm(runDir, { recursive: true, force: true }); // a fresh run every time
  const code = await train([configFile]);
  if (code !== 0) return code;

  // Baselines, the final table and the report.
  const split = await openDataSplit(new DataConfig({ path: dataDir }));
  const table: string[][] = [
    ['crop', 'best epoch', 'VOI split', 'VOI merge', 'VOI', 'one segment', 'raw threshold', '+ grown', 'checkpoint'],
  ];
  const baselines = new Map<string, Record<string, number>>();
  let beaten = true;
  for (const crop of split.test) {
    const checkpoint = path.join(runDir, 'best', crop.name);
    const best = (await readCheckpointInfo<BestScore>(checkpoint))!;
    const base = await baselineScores(crop);
    baselines.set(crop.name, {
      'one segment': base.oneSegment,
      'raw threshold': base.rawThreshold,
      'raw threshold, grown': base.rawThresholdGrown,
    });
    beaten &&= best.voi < Math.min(base.oneSegment, base.rawThreshold, base.rawThresholdGrown);
    table.push([
      crop.name,
      String(best.epoch + 1),
      best.voiSplit.toFixed(3),
      best.voiMerge.toFixed(3),
      best.voi.toFixed(3),
      base.oneSegment.toFixed(3),
      base.rawThreshold.toFixed(3),
      base.rawThresholdGrown.toFixed(3),
      path.relative(process.cwd(), checkpoint),
    ]);
  }
  log('\nBest VOI per test crop (lower is better; epochs counted from 1), against trivial segmentations:');
  printTable(table);
  const index = await writeRunReport(runDir, {
    title: 'tfjs-zarr demo',
    baselines,
    notes: [
      'one segment = every voxel in one segment; raw threshold = connected components of thresholded raw (best threshold); grown = the same grown into unlabelled voxels, as the model’s post-processing does.',
    ],
  });
  log(
    `\nReport: ${path.relative(process.cwd(), index)} (again at any time: npx tfjs-zarr report ${path.relative(process.cwd(), runDir)})`,
  );
  log(
    beaten
      ? 'Every test crop beats the trivial segmentations.'
      : 'Not every test crop beats the trivial segmentations yet (train longer: --seconds 600).',
  );
  return 0;
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

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`\ndemo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
