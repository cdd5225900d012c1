/** Pieces shared by the examples: command-line options and printing the hook's results. */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { BestScore, Evaluation } from '../src/index.js';

/** The options every example takes; each reads the ones it uses. */
const EXAMPLE_OPTIONS = {
  smoke: { type: 'boolean' },
  data: { type: 'string' },
  run: { type: 'string' },
  epochs: { type: 'string' },
  seconds: { type: 'string' },
} as const;

/**
 * `--smoke` (or TFJS_ZARR_SMOKE=1) and `--data DIR`, `--run DIR`, `--epochs N`, `--seconds S`
 * (node:util parseArgs); an unknown option prints the list and exits with status 2.
 */
export function exampleArgs(argv: string[] = process.argv.slice(2)): {
  smoke: boolean;
  option: (name: string, fallback: string) => string;
  /** Arguments that are not options (e.g. a URL). */
  positionals: string[];
} {
  let values: { [name: string]: string | boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: EXAMPLE_OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\noptions: --smoke, --data DIR, --run DIR, --epochs N, --seconds S`);
    process.exit(2);
  }
  const option = (name: string, fallback: string) => {
    const v = values[name];
    return typeof v === 'string' && v !== '' ? v : fallback;
  };
  return { smoke: values['smoke'] === true || process.env['TFJS_ZARR_SMOKE'] === '1', option, positionals };
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
