/**
 * `--processes n`: n worker processes on this machine, each the same command with
 * `--worker i --workers n` appended. The parent only waits (and may poll the markers for a
 * progress bar); when one worker fails the others are stopped (a segmentation worker would
 * otherwise wait for the failed one's blocks forever) and the failure is reported.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface WorkerProcessOptions {
  /** Called every `tickMs` while the workers run (e.g. to update a progress bar). */
  onTick?: () => Promise<void> | void;
  tickMs?: number;
  /** Extra environment for the workers. */
  env?: Record<string, string>;
}

/** Runs `argsFor(i)` (arguments after the script) in n processes of this Node with this script. */
export async function runWorkerProcesses(
  n: number,
  argsFor: (worker: number) => string[],
  options: WorkerProcessOptions = {},
): Promise<void> {
  const script = process.argv[1]!;
  const children: ChildProcess[] = [];
  const failures: string[] = [];
  let stopping = false;
  const stopOthers = () => {
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  const onSignal = () => stopOthers();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const exits = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...argsFor(i)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...options.env },
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.on('error', (e) => {
        failures.push(`worker ${i} could not start: ${e.message}`);
        stopOthers();
        resolve();
      });
      child.on('exit', (code, signal) => {
        if (code !== 0 && !(stopping && signal === 'SIGTERM')) {
          failures.push(`worker ${i} of ${n} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
          stopOthers();
        }
        resolve();
      });
    });
  });
  let timer: NodeJS.Timeout | undefined;
  if (options.onTick) {
    const tick = options.onTick;
    timer = setInterval(() => void Promise.resolve(tick()).catch(() => undefined), options.tickMs ?? 500);
  }
  try {
    await Promise.all(exits);
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (failures.length > 0) throw new Error(`${failures.join('; ')} (see its messages above)`);
  if (stopping) throw new Error('interrupted: the workers were stopped; run the same command again to continue');
}
