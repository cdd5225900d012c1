/**
 * The Python anchors of the benchmarks, run at their best. glibc's malloc in a fresh Python
 * process serves every large buffer by a new mmap until its dynamic threshold rises, which makes
 * zarr-python ~10× and gunpowder ~2× slower than in any process that has imported scipy or torch
 * (as DaCapo's has): every anchor runs with the threshold raised.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Debian's Python, with python3-zarr, numcodecs, scipy and scikit-image (the pyenv `python3` on PATH has none). */
export const PY = '/usr/bin/python3';

export const PYTHON_AT_ITS_BEST = { MALLOC_MMAP_THRESHOLD_: '4000000000', MALLOC_TRIM_THRESHOLD_: '4000000000' };

/**
 * gunpowder 1.4 and its dependencies (funlib.geometry, funlib.persistence 0.5, augment) are not
 * Debian packages: `GUNPOWDER_PATH` gives their source folders (a PYTHONPATH), e.g. checkouts of
 * funkelab/gunpowder v1.4.4, funkelab/funlib.geometry (its src/), funkelab/funlib.persistence
 * v0.5.4 and funkey/augment. Null when it is not set.
 */
export function gunpowderPath(): string | null {
  return process.env['GUNPOWDER_PATH'] || null;
}

/** The environment of an anchor: at its best, with `extraPath` on PYTHONPATH. */
export function pythonEnv(extraPath: string | null = null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...PYTHON_AT_ITS_BEST };
  if (extraPath) env['PYTHONPATH'] = [extraPath, process.env['PYTHONPATH']].filter(Boolean).join(':');
  return env;
}

/** Runs a Python script at its best and parses the last line it prints as JSON. */
export function runPython(script: string, args: string[], options: { input?: string; path?: string | null } = {}) {
  const out = execFileSync(PY, [script, ...args], {
    encoding: 'utf8',
    input: options.input,
    env: pythonEnv(options.path ?? null),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
}

/**
 * A Python script serving requests line by line (one JSON line an answer), at its best: for anchors
 * timed call by call alternately with ours, so that both see the same load. The first line it
 * prints says it is ready.
 */
export class PythonServer {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    private readonly script: string,
  ) {}

  /** Null (with a warning naming `what`) when the script cannot start. */
  static async start(script: string, args: string[], what: string): Promise<PythonServer | null> {
    const child = spawn(PY, [script, ...args], { env: pythonEnv() });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('error', (e) => console.warn(`${PY}: ${e.message}`)); // then stdout ends: see next()
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const server = new PythonServer(child, lines, script);
    try {
      await server.next();
      return server;
    } catch (e) {
      console.warn(`${what} comparison skipped: ${(e as Error).message}`);
      server.close();
      return null;
    }
  }

  private async next(): Promise<Record<string, number>> {
    const line = await this.lines.next();
    if (line.done) throw new Error(`${PY} ${this.script} ended`);
    return JSON.parse(line.value);
  }

  async ask(request: string): Promise<Record<string, number>> {
    this.child.stdin.write(`${request}\n`);
    return this.next();
  }

  close(): void {
    this.child.stdin.end();
  }
}
