/**
 * `tfjs-zarr report <runDir>`: the HTML report of a run directory (also of a run still
 * training): loss, VOI per test crop over epochs, best checkpoints and slices at them.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { useFastestBackend } from '../backend.js';
import { writeRunReport } from '../report/run-report.js';
import { UsageError } from './usage.js';

export const summary = 'write the HTML report of a run directory';

export const usage = `usage: tfjs-zarr report <runDir> [--no-slices] [--title TEXT]

  Writes <runDir>/report/index.html: the loss over batches, VOI (total, split, merge) over
  epochs per test crop with the best epoch marked, the table of best checkpoints and their
  post-processing parameters, and a section of raw | ground truth | prediction | segmentation
  of each test crop at its best checkpoint (predicted again from the data: --no-slices skips
  that). Works at any time, also while the run trains.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { 'no-slices': { type: 'boolean' }, title: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('report takes one run directory');
  const slices = !values['no-slices'];
  if (slices) await useFastestBackend({ quiet: true });
  const index = await writeRunReport(positionals[0]!, {
    slices,
    title: values.title,
    onProgress: (line) => console.log(line),
  });
  console.log(`Report: ${path.relative(process.cwd(), index) || index}`);
  return 0;
}
