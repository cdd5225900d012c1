/**
 * Run directories in a page's IndexedDB: `indexeddb://exp1` is the folder `exp1` of the database
 * `tfjs-zarr`, whose object store `files` maps each file's path ('exp1/best/crop_03/model.json')
 * to its bytes. A folder is replaced in one readwrite transaction (its old files deleted, the new
 * ones put), which IndexedDB commits whole or not at all; an append reads and rewrites its file in
 * one transaction. Works wherever `indexedDB` exists (pages and workers).
 */
import { OptionsError } from '../errors.js';
import { INDEXEDDB_SCHEME, type ReplaceOptions, type RunDir } from './run-dir.js';

export const DATABASE_NAME = 'tfjs-zarr';
const STORE = 'files';

let database: Promise<IDBDatabase> | null = null;

/** The database, opened once (and again after another page upgraded or deleted it). */
function openDatabase(): Promise<IDBDatabase> {
  database ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DATABASE_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => {
        db.close();
        database = null;
      };
      resolve(db);
    };
    request.onerror = () => reject(storageError(`cannot open the IndexedDB database ${DATABASE_NAME}`, request.error));
    request.onblocked = () =>
      reject(storageError(`the IndexedDB database ${DATABASE_NAME} is blocked by another open page`, null));
  }).catch((e: unknown) => {
    database = null;
    throw e;
  });
  return database;
}

function storageError(what: string, cause: DOMException | null): Error {
  const why =
    cause?.name === 'QuotaExceededError'
      ? ': the browser refused more storage to this site (quota exceeded); free space or delete old runs'
      : cause
        ? `: ${cause.name}: ${cause.message}`
        : '';
  return new Error(`${what}${why}`, { cause });
}

/** Runs `fill` in one transaction; resolves once it is committed, rejects if it aborts. */
async function transaction<T>(
  mode: IDBTransactionMode,
  what: string,
  fill: (store: IDBObjectStore, result: (value: T) => void) => void,
): Promise<T> {
  const db = await openDatabase();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    let value: T;
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(storageError(what, tx.error));
    try {
      fill(tx.objectStore(STORE), (v) => (value = v));
    } catch (e) {
      tx.abort();
      reject(storageError(what, e as DOMException));
    }
  });
}

/** `root/path` with empty and `.` segments dropped (manifests may name `./weights.bin`). */
const join = (root: string, path: string) =>
  [...root.split('/'), ...path.split('/')].filter((s) => s !== '' && s !== '.').join('/');

export class IndexedDbRunDir implements RunDir {
  /** The folder's key path ('' is the database's root). */
  private readonly root: string;

  constructor(location: string) {
    if (!location.toLowerCase().startsWith(INDEXEDDB_SCHEME)) {
      throw new OptionsError(`not an IndexedDB location: ${location} (expected ${INDEXEDDB_SCHEME}<name>)`);
    }
    if (typeof indexedDB === 'undefined') {
      throw new OptionsError(
        `${location}: IndexedDB is not available here (indexeddb:// run directories live in a page)`,
      );
    }
    this.root = location
      .slice(INDEXEDDB_SCHEME.length)
      .split('/')
      .filter((s) => s !== '' && s !== '.')
      .join('/');
    if (this.root.split('/').includes('..'))
      throw new OptionsError(`${location}: '..' is not allowed in a run directory`);
  }

  get location(): string {
    return `${INDEXEDDB_SCHEME}${this.root}`;
  }

  get name(): string {
    return this.root.split('/').pop() ?? '';
  }

  locate(path: string): string {
    return `${INDEXEDDB_SCHEME}${join(this.root, path)}`;
  }

  folder(path: string): RunDir {
    return new IndexedDbRunDir(this.locate(path));
  }

  parent(): RunDir {
    return new IndexedDbRunDir(`${INDEXEDDB_SCHEME}${this.root.split('/').slice(0, -1).join('/')}`);
  }

  async isFile(): Promise<boolean> {
    return this.root !== '' && (await this.read('')) !== null;
  }

  read(path: string): Promise<Uint8Array | null> {
    const key = join(this.root, path);
    return transaction<Uint8Array | null>('readonly', `cannot read ${this.locate(path)}`, (store, result) => {
      const request = store.get(key);
      request.onsuccess = () => result(request.result === undefined ? null : new Uint8Array(request.result));
    });
  }

  appendJsonLines(path: string, rows: readonly unknown[]): Promise<void> {
    const key = join(this.root, path);
    const text = new TextEncoder().encode(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return transaction<void>('readwrite', `cannot append to ${this.locate(path)}`, (store) => {
      const request = store.get(key);
      request.onsuccess = () => {
        const old = request.result === undefined ? new Uint8Array(0) : new Uint8Array(request.result);
        const bytes = new Uint8Array(old.length + text.length);
        bytes.set(old);
        bytes.set(text, old.length);
        store.put(bytes.buffer, key);
      };
    });
  }

  async replace(files: ReadonlyMap<string, Uint8Array>, options: ReplaceOptions = {}): Promise<void> {
    if (this.root === '') throw new OptionsError(`${this.location}: the database root cannot be replaced`);
    // Copies made before the transaction: it commits as soon as a task ends with nothing pending.
    const entries = [...files].map(([name, bytes]) => [join(this.root, name), bytes.slice().buffer] as const);
    await options.beforeSwap?.();
    return transaction<void>('readwrite', `cannot write ${this.location}`, (store) => {
      store.delete(this.root);
      store.delete(IDBKeyRange.bound(`${this.root}/`, `${this.root}/\uffff`));
      for (const [key, buffer] of entries) store.put(buffer, key);
    });
  }

  async recover(): Promise<void> {
    // Transactions leave nothing half-done to repair.
  }
}
