/**
 * Directories written whole or not at all (checkpoints, reports, containers).
 *
 * `writeDirAtomically(dir, fill)` lets `fill` write everything into a sibling
 * `<dir>.tmp-<pid>-<random>` directory, fsyncs it, then renames the old `<dir>` to
 * `<dir>.old-<pid>-<random>`, the temporary directory to `<dir>`, and removes the old one. A crash
 * leaves either the old or the new directory at `<dir>`, or — between the two renames — no `<dir>`
 * and a complete `.old-` sibling, which `recoverDir` (called by every write, and callable at
 * start-up) renames back; `readableDir` names that sibling for readers meanwhile. Writes to one
 * directory from this process are queued one after the other; writing the same directory from
 * several processes at once is not supported.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { KeyedQueue } from '../settle.js';
import { isErrno, statOrNull, syncDir } from './files.js';

const TMP_TAG = '.tmp-';
const OLD_TAG = '.old-';

interface Siblings {
  parent: string;
  base: string;
  tmp: string[];
  old: string[];
}

async function listSiblings(dir: string): Promise<Siblings> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[] = [];
  try {
    names = await fsp.readdir(parent);
  } catch (e) {
    if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
  }
  const tmp: string[] = [];
  const old: string[] = [];
  for (const name of names) {
    if (name.startsWith(base + TMP_TAG)) tmp.push(path.join(parent, name));
    else if (name.startsWith(base + OLD_TAG)) old.push(path.join(parent, name));
  }
  return { parent, base, tmp, old };
}

/** The pid in `<dir>.tmp-<pid>-<random>` / `<dir>.old-<pid>-<random>`, or null. */
function siblingPid(sibling: string, dir: string, tag: string): number | null {
  const rest = path.basename(sibling).slice(path.basename(dir).length + tag.length);
  const m = /^(\d+)-/.exec(rest);
  return m ? Number(m[1]) : null;
}

/** Whether a process other than this one, with this pid, is running (so may be mid-save). */
function otherProcessAlive(pid: number | null): boolean {
  if (pid == null || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

/** Newest first by mtime (ties: by name, for determinism). */
async function newestFirst(paths: string[]): Promise<string[]> {
  const withTime = await Promise.all(paths.map(async (p) => ({ p, t: (await statOrNull(p))?.mtimeMs ?? -Infinity })));
  withTime.sort((a, b) => b.t - a.t || (a.p < b.p ? 1 : a.p > b.p ? -1 : 0));
  return withTime.map((x) => x.p);
}

/** The complete `.old-` sibling to read from when `dir` itself is missing, or null. */
async function fallbackDir(dir: string): Promise<string | null> {
  if (await statOrNull(dir)) return null;
  const { old } = await listSiblings(dir);
  const [newest] = await newestFirst(old);
  return newest ?? null;
}

/** Where to read `dir` from: `dir` itself, or the complete `.old-` sibling an interrupted write left. */
export async function readableDir(dir: string): Promise<string> {
  const target = path.resolve(dir);
  return (await fallbackDir(target)) ?? target;
}

/**
 * Repairs what an interrupted save can leave next to `dir`: when `dir` is missing but an
 * `.old-` sibling exists (a crash between the two renames), the newest one is renamed back to
 * `dir`; then leftover `.tmp-` and `.old-` siblings are removed — except temporary directories
 * of another running process, which may be saving right now. Safe to call at start-up;
 * `writeDirAtomically` calls it before every write.
 */
export async function recoverDir(dir: string): Promise<void> {
  const target = path.resolve(dir);
  let siblings = await listSiblings(target);
  if (siblings.old.length > 0 && !(await statOrNull(target))) {
    const [restore] = await newestFirst(siblings.old);
    await fsp.rename(restore!, target);
    await syncDir(siblings.parent);
    siblings = await listSiblings(target);
  }
  for (const p of siblings.old) {
    if (await statOrNull(p)) await fsp.rm(p, { recursive: true, force: true });
  }
  for (const p of siblings.tmp) {
    if (otherProcessAlive(siblingPid(p, target, TMP_TAG))) continue;
    await fsp.rm(p, { recursive: true, force: true });
  }
}

export interface AtomicWriteOptions {
  /**
   * Called once every file is written and synced in the temporary directory, just before the
   * swap. For tests: throwing here simulates a crash mid-write — the previous directory stays,
   * the temporary directory is removed and the error propagates.
   */
  beforeSwap?: () => void | Promise<void>;
}

/** Writes to the same directory from this process run one after the other. */
const writeQueue = new KeyedQueue();

/**
 * Writes the directory `dir` whole or not at all: `fill(tmp)` writes its files into a temporary
 * sibling (files it writes should be synced: `writeFileSynced`), which then replaces `dir`.
 * Parent directories are created. On failure before the swap the previous `dir` is left as it was
 * and the error propagates.
 */
export async function writeDirAtomically(
  dir: string,
  fill: (tmp: string) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const target = path.resolve(dir);
  return writeQueue.run(target, async () => {
    const parent = path.dirname(target);
    await fsp.mkdir(parent, { recursive: true });
    await recoverDir(target);

    const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
    const tmp = `${target}${TMP_TAG}${suffix}`;
    const old = `${target}${OLD_TAG}${suffix}`;
    try {
      await fsp.mkdir(tmp);
      await fill(tmp);
      await syncDir(tmp);
      await options.beforeSwap?.();
    } catch (e) {
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }

    // The swap. Only two renames: `dir` is never observed half-written.
    let movedOld = false;
    try {
      if (await statOrNull(target)) {
        await fsp.rename(target, old);
        movedOld = true;
      }
      await fsp.rename(tmp, target);
    } catch (e) {
      if (movedOld) await fsp.rename(old, target).catch(() => undefined);
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    await syncDir(parent);
    // The new checkpoint is in place; failing to delete the old one is not a failed save (the
    // next save or recoverCheckpoint removes it).
    if (movedOld) await fsp.rm(old, { recursive: true, force: true }).catch(() => undefined);
  });
}
