/**
 * Run directories in the file system (Node). Folders are replaced through `fs/atomic-dir.ts`
 * (a temporary sibling, fsynced, then two renames); JSON-line files are appended with O_APPEND
 * and fsynced, after cutting off a last line a crash left incomplete.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { readableDir, recoverDir, writeDirAtomically } from '../fs/atomic-dir.js';
import { isErrno, statOrNull, writeFileSynced, writeFully } from '../fs/files.js';
import type { ReplaceOptions, RunDir } from './run-dir.js';

export class FileRunDir implements RunDir {
  readonly location: string;

  constructor(location: string) {
    this.location = path.resolve(location);
  }

  get name(): string {
    return path.basename(this.location);
  }

  locate(p: string): string {
    return path.join(this.location, ...p.split('/'));
  }

  folder(p: string): RunDir {
    return new FileRunDir(this.locate(p));
  }

  parent(): RunDir {
    return new FileRunDir(path.dirname(this.location));
  }

  async isFile(): Promise<boolean> {
    return (await statOrNull(this.location))?.isFile() ?? false;
  }

  async read(p: string): Promise<Uint8Array | null> {
    // A folder that an interrupted replace left as its `.old-` sibling is read from there.
    const file = path.join(await readableDir(this.location), ...p.split('/'));
    try {
      const bytes = await fsp.readFile(file);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
  }

  async appendJsonLines(p: string, rows: readonly unknown[]): Promise<void> {
    const file = this.locate(p);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const fh = await fsp.open(file, 'a+');
    try {
      await repairTail(fh);
      if (rows.length > 0) {
        // 'a+' opens with O_APPEND: every write goes to the current end of the file.
        await writeFully(fh, Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8'));
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  replace(files: ReadonlyMap<string, Uint8Array>, options: ReplaceOptions = {}): Promise<void> {
    return writeDirAtomically(
      this.location,
      async (tmp) => {
        for (const [name, bytes] of files) {
          const file = path.join(tmp, ...name.split('/'));
          await fsp.mkdir(path.dirname(file), { recursive: true });
          await writeFileSynced(file, [bytes]);
        }
      },
      options,
    );
  }

  recover(): Promise<void> {
    return recoverDir(this.location);
  }
}

function isRowObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * If the file does not end with a newline, its last line was cut short by a crash (or written by
 * hand without one): drop it when it is not a complete JSON object, otherwise end it with '\n'.
 */
async function repairTail(fh: FileHandle): Promise<void> {
  const { size } = await fh.stat();
  if (size === 0) return;
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  // Find the start of the last line, reading backwards in blocks.
  const block = 64 * 1024;
  let start = 0;
  let pos = size;
  search: while (pos > 0) {
    const from = Math.max(0, pos - block);
    const buf = Buffer.alloc(pos - from);
    await fh.read(buf, 0, buf.length, from);
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] === 0x0a) {
        start = from + i + 1;
        break search;
      }
    }
    pos = from;
  }
  const tail = Buffer.alloc(size - start);
  await fh.read(tail, 0, tail.length, start);
  let complete = false;
  try {
    complete = isRowObject(JSON.parse(tail.toString('utf8')));
  } catch {
    complete = false;
  }
  if (complete) await fh.write('\n');
  else await fh.truncate(start);
}
