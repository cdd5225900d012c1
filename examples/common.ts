/** Pieces shared by the examples: command-line options and printing the hook's results. */
import * as path from 'node:path';
import type { BestScore, Evaluation } from '../src/index.js';

/** `--smoke` (or TFJS_ZARR_SMOKE=1) and `--name value` options. */
export function exampleArgs(argv: string[] = process.argv.slice(2)): {
  smoke: boolean;
  option: (name: string, fallback: string) => string;
} {
  const option = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  return { smoke: argv.includes('--smoke') || process.env['TFJS_ZARR_SMOKE'] === '1', option };
}

/** One line per test crop after an evaluation (use as the ValidationHook's `onEvaluation`). */
export function printEvaluation(e: Evaluation): void {
  for (const s of e.best) {
    console.log(
      `epoch ${e.epoch}: ${s.crop} VOI ${s.voi.toFixed(3)} (split ${s.voiSplit.toFixed(3)}, merge ${s.voiMerge.toFixed(3)}, ` +
        `threshold ${s.parameters['threshold']})${e.improved.includes(s.crop) ? ' new best' : ''}`,
    );
  }
}

/** The best checkpoint per test crop, with the threshold that made it best (`hook.best`). */
export function printBest(best: ReadonlyMap<string, BestScore>): void {
  for (const [crop, b] of best) {
    console.log(
      `best ${crop}: epoch ${b.epoch}, VOI ${b.voi.toFixed(3)} at threshold ${b.parameters['threshold']}, ` +
        `checkpoint ${path.relative(process.cwd(), b.checkpoint)}`,
    );
  }
}
