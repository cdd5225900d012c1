/**
 * Training progress for people: on a terminal a live bar (epoch, batch, loss, samples/s, time
 * left) with validation results printed above it as they come; in a log (stdout not a TTY) one
 * plain line per epoch and per evaluated crop.
 */
import cliProgress from 'cli-progress';
import type { Evaluation } from '../eval/hook.js';
import type { ScoreRow } from '../eval/scores.js';

export interface BatchProgress {
  /** 0-based epoch and batch within it (batch = batches done in the epoch after this one, 1-based). */
  epoch: number;
  epochs: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  samplesPerSecond: number;
  /** Estimated seconds until the run (or this invocation's time budget) ends. */
  secondsLeft: number;
}

export interface EpochProgress extends Omit<BatchProgress, 'batch' | 'loss'> {
  meanLoss: number;
  batches: number;
  elapsed: number;
}

export interface ValidationProgress {
  /** 0-based epoch the model was trained through. */
  epoch: number;
  crop: string;
  /** Prediction tiles done of all (while predicting). */
  tiles?: [number, number];
  /** The crop's score at its best parameters (once scored). */
  score?: ScoreRow;
}

export interface TrainProgress {
  /** A line of information (printed above the bar on a terminal). */
  message(line: string): void;
  batch(p: BatchProgress): void;
  epoch(p: EpochProgress): void;
  /** A test crop being predicted, then scored. */
  validation(p: ValidationProgress): void;
  /** An evaluation of every test crop done. */
  evaluation(e: Evaluation): void;
  /** Removes the live bar (before the process ends or prints something else). */
  stop(): void;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function scoreLine(epoch: number, s: ScoreRow): string {
  const params = Object.entries(s.parameters)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `  validation after epoch ${epoch + 1}: ${s.crop} VOI ${s.voi.toFixed(3)} ` +
    `(split ${s.voiSplit.toFixed(3)}, merge ${s.voiMerge.toFixed(3)}${params ? `; ${params}` : ''})`
  );
}

/** The line after an evaluation: which crops got a new best checkpoint (null: none). */
export function improvedLine(e: Evaluation): string | null {
  return e.improved.length > 0 ? `  new best checkpoint: ${e.improved.join(', ')}` : null;
}

export function epochLine(p: EpochProgress): string {
  return (
    `epoch ${p.epoch + 1}/${p.epochs}  ${p.batches} batches  loss ${p.meanLoss.toFixed(4)}  ` +
    `${p.samplesPerSecond.toFixed(2)} samples/s  elapsed ${formatSeconds(p.elapsed)}  left ~${formatSeconds(p.secondsLeft)}`
  );
}

/** Plain lines: one per epoch and per evaluated crop (for logs and pipes). */
export function lineProgress(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): TrainProgress {
  return {
    message: write,
    batch: () => undefined,
    epoch: (p) => write(epochLine(p)),
    validation: (p) => {
      if (p.score) write(scoreLine(p.epoch, p.score));
    },
    evaluation: (e) => {
      const line = improvedLine(e);
      if (line) write(line);
    },
    stop: () => undefined,
  };
}

/** A live bar on the terminal `stream` (default stdout). */
export function barProgress(stream: NodeJS.WriteStream = process.stdout): TrainProgress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format:
        'epoch {epochNo}/{epochs} [{bar}] batch {value}/{total} | loss {loss} | {rate} samples/s | left {left}{phase}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      autopadding: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | null = null;
  // Above the live bar while there is one (flushed at its next redraw), else straight out.
  const log = (line: string) => (bar ? multi.log(`${line}\n`) : stream.write(`${line}\n`));
  return {
    message: log,
    batch(p) {
      const payload = {
        epochNo: p.epoch + 1,
        epochs: p.epochs,
        loss: p.loss.toFixed(4),
        rate: p.samplesPerSecond.toFixed(2),
        left: formatSeconds(p.secondsLeft),
        phase: '',
      };
      if (!bar) bar = multi.create(p.batchesPerEpoch, p.batch, payload);
      else bar.setTotal(p.batchesPerEpoch);
      bar.update(p.batch, payload);
    },
    epoch(p) {
      log(epochLine(p));
    },
    validation(p) {
      if (p.tiles) bar?.update({ phase: ` | validating ${p.crop}: tile ${p.tiles[0]}/${p.tiles[1]}` });
      if (p.score) log(scoreLine(p.epoch, p.score));
    },
    evaluation(e) {
      bar?.update({ phase: '' });
      const line = improvedLine(e);
      if (line) log(line);
    },
    stop() {
      if (!bar) return;
      multi.update(); // prints the lines logged since the last redraw
      multi.stop();
      bar = null;
    },
  };
}

/** A bar on a terminal, plain lines otherwise. */
export function consoleProgress(): TrainProgress {
  return process.stdout.isTTY ? barProgress(process.stdout) : lineProgress();
}
