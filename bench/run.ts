/**
 * `npm run bench`: every benchmark, with the numbers the issues ask for. Creates its data once in
 * bench/data/ (git-ignored) with zarr-python (/usr/bin/python3 with python3-zarr).
 * `npm run bench -- read voi` runs only some of them.
 */
import { parseArgs } from 'node:util';
import { benchDecode } from './decode.js';
import { benchRead } from './read.js';
import { benchPipeline } from './pipeline.js';
import { benchVoi } from './voi.js';
import { benchPredict } from './predict.js';
import { benchApply } from './apply.js';
import { benchStep } from './step.js';

const all: Record<string, () => Promise<Record<string, number | string>>> = {
  read: () => benchRead(),
  decode: () => benchDecode(),
  voi: () => benchVoi(),
  pipeline: () => benchPipeline(),
  predict: () => benchPredict(),
  apply: () => benchApply(),
  step: () => benchStep(),
};
const { positionals: chosen } = parseArgs({ allowPositionals: true, options: {} });
const unknown = chosen.filter((name) => !(name in all));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; benchmarks: ${Object.keys(all).join(', ')}`);
  process.exit(2);
}
for (const name of chosen.length ? chosen : Object.keys(all)) {
  console.log(`\n== ${name}`);
  const t = performance.now();
  const results = await all[name]!();
  for (const [k, v] of Object.entries(results))
    console.log(`  ${k.padEnd(40)} ${typeof v === 'number' ? v.toFixed(3) : v}`);
  console.log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
}
