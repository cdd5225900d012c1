/**
 * Real electron microscopy: a serial-section TEM stack (thick sections, labels per section), as a
 * new user would train on it — `tfjs-zarr train` with the model and input shape left to the
 * defaults planned from the data (in-plane pooling and kernels, an input of similar world extent
 * per axis, in-plane affinities), seamless tiled validation, and the trivial segmentations it must
 * beat.
 *
 * The data: the ISBI 2012 challenge's training stack (30 sections of 512×512, 4×4×50 nm, membrane
 * labels), e.g. from https://github.com/zhixuhao/unet (`data/membrane/train/image/*.png` and
 * `data/membrane/train/label/*.png`). Any stack in that form works: a folder with `image/` and
 * `label/` holding one PNG per section, numbered in order (label images: membranes dark, cells
 * bright). It is converted once into a zarr container in the crops layout (examples/serial-em/
 * stack.ts): two train crops (first half of the sections) and two test crops (second half), each
 * half an image wide, cells numbered per section.
 *
 *   git clone --depth 1 https://github.com/zhixuhao/unet /tmp/unet
 *   node --import tsx examples/serial-em.ts /tmp/unet/data/membrane/train   # 1,200 samples
 *   node --import tsx examples/serial-em.ts --smoke                          # synthetic stack, a few batches
 *
 * Options: a PNG folder (image/ and label/), --data DIR (the container; made from the PNGs once),
 * --run DIR, --epochs N (of 20 batches of 2 samples; default 30 = 1,200 samples).
 * The voxel size is ISBI's (VOXEL_SIZE below); change it for another stack.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataSplit } from '../src/index.js';
import { run as train } from '../src/cli/train.js';
import { writeRunReport } from '../src/report/run-report.js';
import { exampleArgs } from './common.js';
import { sectionBaselines } from './serial-em/baselines.js';
import { pngStackToZarr, writeSyntheticPngStack } from './serial-em/stack.js';

/** [z, y, x] in nm: ISBI 2012's serial-section TEM. */
const VOXEL_SIZE: [number, number, number] = [50, 4, 4];
const BATCH_SIZE = 2;
const BATCHES_PER_EPOCH = 20;

const { smoke, option, positionals } = exampleArgs();
const dataDir = path.resolve(
  option('data', smoke ? 'demo-data/serial-em-small/data.zarr' : 'demo-data/serial-em/data.zarr'),
);
const runDir = path.resolve(option('run', smoke ? 'runs/serial-em-smoke' : 'runs/serial-em'));
const epochs = Number(option('epochs', smoke ? '2' : '30'));

async function ensureData(): Promise<void> {
  const png = positionals[0];
  if (smoke && !png) {
    const stack = path.join(os.tmpdir(), `tfjs-zarr-serial-em-${process.pid}`);
    try {
      await writeSyntheticPngStack(stack, { shape: [8, 96, 96], voxelSize: VOXEL_SIZE });
      await pngStackToZarr({ images: `${stack}/image`, labels: `${stack}/label`, out: dataDir, voxelSize: VOXEL_SIZE });
    } finally {
      await rm(stack, { recursive: true, force: true });
    }
    return;
  }
  if (png) {
    const shape = await pngStackToZarr({
      images: path.join(png, 'image'),
      labels: path.join(png, 'label'),
      out: dataDir,
      voxelSize: VOXEL_SIZE,
    });
    console.log(`Converted ${shape[0]} sections of ${shape[2]}×${shape[1]} from ${png} into ${dataDir}`);
    return;
  }
  if (!existsSync(dataDir)) {
    console.error(
      `No data: give the PNG folder (with image/ and label/), e.g.\n` +
        '  git clone --depth 1 https://github.com/zhixuhao/unet /tmp/unet\n' +
        '  node --import tsx examples/serial-em.ts /tmp/unet/data/membrane/train\n' +
        `or --data with a container made before (looked for ${dataDir}); --smoke runs on a synthetic stack.`,
    );
    process.exit(2);
  }
}

/** Per crop, the best VOI of the evaluations up to `samples` samples (scores.jsonl). */
async function bestUpTo(samples: number, samplesPerEpoch: number): Promise<Map<string, number>> {
  const rows = (await readFile(path.join(runDir, 'scores.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { crop: string; epoch: number; voi: number });
  const best = new Map<string, number>();
  for (const r of rows) {
    if ((r.epoch + 1) * samplesPerEpoch > samples) continue;
    best.set(r.crop, Math.min(best.get(r.crop) ?? Infinity, r.voi));
  }
  return best;
}

async function main(): Promise<number> {
  await ensureData();
  const config = {
    name: 'serial-em',
    data: dataDir,
    runDir,
    // Model and inputShape left out: planned from the voxel size (printed, and kept in config.json).
    target: 'affinities',
    augment: true,
    batchSize: BATCH_SIZE,
    epochs,
    batchesPerEpoch: smoke ? 2 : BATCHES_PER_EPOCH,
    seed: 1,
  };
  const configFile = `${dataDir}.run.json`;
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`Run config ${configFile}:\n  npx tfjs-zarr train ${path.relative(process.cwd(), configFile)}\n`);
  await rm(runDir, { recursive: true, force: true });
  const code = await train([configFile]);
  if (code !== 0) return code;

  const split = await openDataSplit(dataDir);
  const perEpoch = config.batchesPerEpoch * BATCH_SIZE;
  const marks = [...new Set([480, 1200, epochs * perEpoch].filter((m) => m <= epochs * perEpoch))];
  const upTo = new Map<number, Map<string, number>>();
  for (const m of marks) upTo.set(m, await bestUpTo(m, perEpoch));
  const baselines = new Map<string, Record<string, number>>();
  console.log('\nBest VOI per test crop (lower is better) against the trivial segmentations:');
  for (const crop of split.test) {
    const b = await sectionBaselines(crop);
    baselines.set(crop.name, {
      'raw threshold, per-section components': b.rawThreshold,
      'one segment per section': b.oneSegmentPerSection,
    });
    const better = Math.min(b.rawThreshold, b.oneSegmentPerSection);
    const reached = [...upTo].map(([m, best]) => {
      const v = best.get(crop.name);
      return v === undefined ? `${m} samples: —` : `${m} samples: ${v.toFixed(3)} (${(v / better).toFixed(2)}×)`;
    });
    console.log(
      `  ${crop.name}: ${reached.join(', ')}; raw threshold ${b.rawThreshold.toFixed(3)}, ` +
        `one segment per section ${b.oneSegmentPerSection.toFixed(3)}`,
    );
  }
  const index = await writeRunReport(runDir, {
    title: 'tfjs-zarr on serial-section EM',
    baselines,
    notes: [
      'raw threshold = 2D connected components of thresholded raw per section (best threshold); one segment per section = each section one segment.',
    ],
  });
  console.log(`\nReport: ${path.relative(process.cwd(), index)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`\nserial-em failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
