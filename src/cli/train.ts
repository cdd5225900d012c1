/**
 * `tfjs-zarr train [run.json] [--data D] [--run R] [--epochs N] [--seconds S] [--target T]
 * [--backend B]`: trains the run a config describes into its run directory, resuming the run
 * already there. Ctrl-C (SIGINT) or SIGTERM stops after the step in progress, saves the resume
 * point and exits with 130 / 143; a second Ctrl-C exits at once (the previous resume point stays).
 */
import { existsSync, promises as fsp, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeBackend, useFastestBackend } from '../backend.js';
import type { RunConfig, RunFlags } from '../run/config.js';
import { type PlannedConfig, planRunConfig } from '../run/plan-data.js';
import type { AtomicWriteOptions } from '../fs/atomic-dir.js';
import { consoleProgress } from '../run/progress.js';
import { checkConfigAgainstData } from '../run/setup.js';
import { latestDir } from '../run/state.js';
import { configPath, prepareRunDir, trainRun } from '../run/train.js';
import { UsageError } from './usage.js';

export const summary = 'train a model from a run config into a run directory (resumable)';

export const usage = `usage: tfjs-zarr train [run.json] [--data PATH] [--run DIR] [--epochs N] [--seconds S]
                       [--target boundary|affinities|semantic] [--backend auto|tensorflow|wasm|cpu]
                       [--threads N]

  Trains the run that run.json describes (a JSON run config: data, model, target, loss,
  optimizer, batchSize, inputShape, minMasked, cropWeights, augment, epochs, batchesPerEpoch,
  validation; see the README) into its run directory (runDir, default runs/<name>). Flags
  override the config's fields; --data alone trains with the defaults. On a run directory that
  already holds the run, training continues where it stopped (tfjs-zarr train --run DIR resumes
  with the config stored there). Ctrl-C saves the resume point and exits.

  --data PATH     the zarr container (folder, http(s) URL or .zip): data.path
  --run DIR       the run directory: runDir
  --epochs N      epochs of the whole run
  --seconds S     time budget of this invocation, checked after each epoch
  --target T      the target kind
  --backend B     tfjs backend (default auto: the fastest available)
  --threads N     threads the wasm backend computes on (default: every core)`;

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the run config ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function numberFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * The effective config from the command line (a config file, the run directory's config, or flags
 * alone), with what it leaves out planned from the data (run/plan.ts), and the data split.
 */
export async function configFromArgs(argv: string[]): Promise<PlannedConfig> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      data: { type: 'string' },
      run: { type: 'string' },
      epochs: { type: 'string' },
      seconds: { type: 'string' },
      target: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new UsageError(`train takes one run config, got ${positionals.join(' ')}`);
  const flags: RunFlags = {
    data: values.data,
    run: values.run,
    epochs: numberFlag(values.epochs, 'epochs'),
    seconds: numberFlag(values.seconds, 'seconds'),
    target: values.target,
    backend: values.backend,
    threads: numberFlag(values.threads, 'threads'),
  };
  let file = positionals[0];
  if (file === undefined && values.run !== undefined && values.data === undefined) {
    // `train --run DIR`: continue the run stored there.
    const stored = configPath(path.resolve(values.run));
    if (await fsp.stat(stored).catch(() => null)) file = stored;
  }
  if (file === undefined && values.data === undefined) {
    throw new UsageError('give a run config (run.json), or --data (and --run) to train with the defaults');
  }
  const json = file === undefined ? {} : await readJson(file);
  return planRunConfig(json, { source: file ?? 'command line', flags });
}

/**
 * For the crash tests only: with TFJS_ZARR_TEST_STALL_SAVE=<file>, a save that would replace an
 * existing resume point writes <file> once its new files are complete and then waits forever
 * (for the test to kill the process in the middle of the save).
 */
function stallForTests(config: RunConfig): AtomicWriteOptions | undefined {
  const marker = process.env['TFJS_ZARR_TEST_STALL_SAVE'];
  if (!marker) return undefined;
  return {
    beforeSwap: async () => {
      if (!existsSync(latestDir(config.runDir))) return;
      writeFileSync(marker, `${process.pid}\n`);
      await new Promise(() => setInterval(() => undefined, 1000)); // the timer keeps the process alive
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { config, split, plan } = await configFromArgs(argv);
  // The config against the data before anything is written.
  checkConfigAgainstData(config, split);
  const { resuming } = await prepareRunDir(config);

  if (config.backend !== 'auto') process.env['TFJS_ZARR_BACKEND'] = config.backend; // the flag or config wins
  await useFastestBackend({ quiet: true, ...(config.threads === null ? {} : { threads: config.threads }) });

  const progress = consoleProgress();
  progress.message(`tfjs-zarr train: ${config.name} → ${config.runDir}${resuming ? ' (existing run)' : ''}`);
  progress.message(`Backend: ${describeBackend()}`);
  progress.message(
    `Data ${config.data.path}; target ${config.target.kind}; input ${config.inputShape.join('×')}; ` +
      `batch ${config.batchSize}; ${config.epochs} epochs × ${config.batchesPerEpoch} batches` +
      (config.seconds !== null ? `; at most ${config.seconds} s now` : ''),
  );
  for (const c of plan.choices) progress.message(`Planned ${c.key} ${JSON.stringify(c.value)}: ${c.reason}`);
  for (const note of plan.notes) progress.message(`Note: ${note}`);

  const controller = new AbortController();
  let signalName: NodeJS.Signals | null = null;
  const onSignal = (name: NodeJS.Signals) => {
    if (signalName !== null) {
      progress.stop();
      console.error(`\n${name} again: exiting without saving (the previous resume point stays)`);
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    signalName = name;
    progress.message(`${name}: stopping after this step and saving the resume point (again to quit at once)`);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await trainRun(config, {
      signal: controller.signal,
      progress,
      split,
      latestSaveOptions: stallForTests(config),
    });
    progress.stop();
    const s = result.state;
    const where =
      s.batchInEpoch === 0
        ? `${s.epoch} of ${config.epochs} epochs (${s.batches} batches)`
        : `epoch ${s.epoch + 1}/${config.epochs}, batch ${s.batchInEpoch}/${config.batchesPerEpoch} (${s.batches} batches)`;
    if (result.status === 'interrupted') {
      console.log(
        `Interrupted after ${where}; resume point saved. Continue with: tfjs-zarr train --run ${config.runDir}`,
      );
      return signalName === 'SIGTERM' ? 143 : 130;
    }
    console.log(
      result.status === 'complete'
        ? `Done: ${where}.`
        : `Time budget reached after ${where}; continue with: tfjs-zarr train --run ${config.runDir}`,
    );
    for (const [crop, b] of result.best) {
      console.log(
        `  best ${crop}: epoch ${b.epoch + 1}, VOI ${b.voi.toFixed(3)} (split ${b.voiSplit.toFixed(3)}, merge ` +
          `${b.voiMerge.toFixed(3)}), ${JSON.stringify(b.parameters)}, ${b.checkpoint}`,
      );
    }
    console.log(`Report: tfjs-zarr report ${config.runDir}`);
    return 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
