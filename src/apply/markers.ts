/**
 * Done-markers: one small JSON file per finished block in `<array>/.blocks/<phase>/<index>.json`,
 * written (atomically) after the block's chunks, so a killed run continues where it stopped and a
 * finished block is never written twice. `.blocks/plan.json` records what the blocks mean (ROI,
 * block shape, parameters): a run with another plan is refused instead of mixing two results.
 * The folder name starts with '.', so zarr tools take it for neither a chunk nor a child array.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OptionsError } from '../errors.js';
import { isErrno } from '../fs/files.js';
import { writeFileAtomic } from '../zarr/write/file-store.js';

export const MARKERS_DIR = '.blocks';

export class BlockMarkers {
  readonly dir: string;
  readonly durable: boolean;

  constructor(arrayDir: string, phase: string, durable = true) {
    this.dir = path.join(arrayDir, MARKERS_DIR, phase);
    this.durable = durable;
  }

  file(index: number): string {
    return path.join(this.dir, `${index}.json`);
  }

  async mark(index: number, info: object = {}): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file(index), `${JSON.stringify({ block: index, ...info })}\n`, this.durable);
  }

  /** The marker's content, or null when the block is not done. */
  async read<T = Record<string, unknown>>(index: number): Promise<T | null> {
    try {
      return JSON.parse(await fsp.readFile(this.file(index), 'utf8')) as T;
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
  }

  /** Indices of the finished blocks. */
  async done(): Promise<Set<number>> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return new Set();
      throw e;
    }
    return new Set(names.filter((n) => /^\d+\.json$/.test(n)).map((n) => Number.parseInt(n, 10)));
  }
}

/**
 * Records the job's plan beside its markers, or checks it against the one already there (a
 * continued or concurrent run): any difference is an error naming the fields.
 */
export async function checkPlan(arrayDir: string, plan: Record<string, unknown>, where: string): Promise<void> {
  const file = path.join(arrayDir, MARKERS_DIR, 'plan.json');
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  let existing: Record<string, unknown> | null = null;
  try {
    existing = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
  }
  if (existing) {
    const keys = [...new Set([...Object.keys(existing), ...Object.keys(plan)])];
    const differ = keys.filter((k) => JSON.stringify(existing![k]) !== JSON.stringify(plan[k]));
    if (differ.length > 0) {
      throw new OptionsError(
        `${where} was started with other settings (${differ
          .map((k) => `${k}: ${JSON.stringify(existing![k])} there, ${JSON.stringify(plan[k])} now`)
          .join('; ')}); continue with the same settings, or pass --overwrite (overwrite: true) to start again`,
      );
    }
    return;
  }
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
}
