/**
 * A run directory: where a training run keeps its scores and best checkpoints. Every writer and
 * reader of run data (the validation hook, checkpoints, scores) goes through this interface, so
 * that a run lives in a folder (Node: `file-run-dir.ts`) or in a page's IndexedDB
 * (`indexeddb://exp1`: `indexeddb-run-dir.ts`) alike. `openRunDir` (open.ts, open.browser.ts)
 * picks the medium from the location.
 *
 * Paths inside a run directory are '/'-separated and relative ('scores.jsonl',
 * 'best/crop_03/model.json'); locations are what users write ('runs/exp1',
 * 'indexeddb://exp1/best/crop_03'), joined by the medium (never `path.join` on a URL).
 */

export interface RunDir {
  /** The location of this folder, as a user would give it back (messages, checkpoint records). */
  readonly location: string;
  /** The folder's own name (last segment of its location). */
  readonly name: string;
  /** The location of `path` below this folder. */
  locate(path: string): string;
  /** The folder at `path` below this one. */
  folder(path: string): RunDir;
  /** The enclosing folder. */
  parent(): RunDir;
  /** Whether this location is a file rather than a folder (a model.json given as a checkpoint). */
  isFile(): Promise<boolean>;
  /** The bytes of the file at `path`, or null when there is none. */
  read(path: string): Promise<Uint8Array | null>;
  /**
   * Appends one JSON line per row to the file at `path` (created as needed), durably. A last line
   * cut short by a crash is removed first, so it cannot glue onto the new rows.
   */
  appendJsonLines(path: string, rows: readonly unknown[]): Promise<void>;
  /**
   * Replaces this whole folder with `files` (paths relative to it), whole or not at all: on
   * failure the previous contents stay as they were and the error propagates.
   */
  replace(files: ReadonlyMap<string, Uint8Array>, options?: ReplaceOptions): Promise<void>;
  /** Repairs what an interrupted `replace` can leave (files: see fs/atomic-dir.ts; nothing elsewhere). */
  recover(): Promise<void>;
}

export interface ReplaceOptions {
  /**
   * Called once every file is ready, just before the switch. For tests: throwing here simulates a
   * crash mid-write — the previous contents stay and the error propagates.
   */
  beforeSwap?: () => void | Promise<void>;
}

export const INDEXEDDB_SCHEME = 'indexeddb://';

export function isIndexedDbLocation(location: string): boolean {
  return location.toLowerCase().startsWith(INDEXEDDB_SCHEME);
}

/** `text` as UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** UTF-8 bytes as text. */
export function fromUtf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
