/** Small file-system helpers shared by every writer: durable writes, errno checks. */
import { promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Writes all of `bytes` through `fh` (one write may be partial). */
export async function writeFully(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

export async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
    throw e;
  }
}

/** Writes `chunks` to `file` (created or truncated) and fsyncs it before closing. */
export async function writeFileSynced(file: string, chunks: Iterable<Uint8Array | string>): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    for (const chunk of chunks) {
      await writeFully(fh, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs a directory so renames and new entries in it are durable. Best effort: some platforms
 * (Windows) and file systems refuse to open or sync directories.
 */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // not supported here: nothing more we can do
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
