/**
 * Progress of a blockwise job on stderr: a cli-progress bar (blocks done / total, voxels/s, time
 * left) on a terminal, plain lines (every 10 % or 30 s) otherwise, e.g. in a SLURM log.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` blocks of `total`, `voxels` voxels in those blocks (counted from this run's start). */
  update(done: number, voxels: number): void;
  stop(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function formatRate(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(0);
}

/**
 * `startDone` blocks were already done when the run started (a continued run): they count in
 * done/total but not in the speed or the time left.
 */
export function blockProgress(
  title: string,
  total: number,
  startDone: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  const t0 = performance.now();
  const rates = (done: number, voxels: number) => {
    const seconds = (performance.now() - t0) / 1000;
    const blocksPerSecond = (done - startDone) / seconds;
    return {
      speed: `${formatRate(seconds > 0 ? voxels / seconds : 0)} voxels/s`,
      left: formatSeconds(blocksPerSecond > 0 ? (total - done) / blocksPerSecond : Number.POSITIVE_INFINITY),
      seconds,
    };
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${title} |{bar}| {value}/{total} blocks | {speed} | {left} left`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, startDone, { speed: '-', left: '?' });
    return {
      update(done, voxels) {
        const r = rates(done, voxels);
        bar.update(done, { speed: r.speed, left: r.left });
      },
      stop: () => bar.stop(),
    };
  }
  let lastLine = -Infinity;
  let lastDone = -1;
  const line = (done: number, voxels: number) => {
    const r = rates(done, voxels);
    stream.write(`${title}: ${done}/${total} blocks, ${r.speed}, ${r.left} left\n`);
    lastLine = performance.now();
    lastDone = done;
  };
  stream.write(`${title}: ${startDone}/${total} blocks done at start\n`);
  return {
    update(done, voxels) {
      if (done === lastDone) return;
      const step = Math.max(1, Math.ceil(total / 10));
      if (
        done === total ||
        Math.floor(done / step) > Math.floor(lastDone / step) ||
        performance.now() - lastLine > 30_000
      ) {
        line(done, voxels);
      }
    },
    stop() {},
  };
}
