/**
 * What a container can be given as. A string is a location: a local path (Node), an http(s) URL
 * or a bucket URL. In a page, the user's own files come as objects the browser hands out: a
 * folder picked with `showDirectoryPicker()` (a FileSystemDirectoryHandle), the files of
 * `<input type=file webkitdirectory>` (a FileList, or an array of its Files), or a .zip file
 * (a File or Blob). Objects are recognised by shape, so they work across realms (a worker's
 * structured clone) and in tests.
 */

export type ContainerSource = string | FileSystemDirectoryHandle | FileList | readonly File[] | Blob;

/** A picked folder as the stores use it (the DOM lib types its async iteration separately). */
export interface DirectoryHandle {
  readonly kind: 'directory';
  readonly name: string;
  getDirectoryHandle(name: string): Promise<DirectoryHandle>;
  getFileHandle(name: string): Promise<{ getFile(): Promise<File> }>;
  values(): AsyncIterable<{ readonly kind: 'file' | 'directory'; readonly name: string }>;
}

export type PickedSource =
  | { kind: 'handle'; handle: DirectoryHandle }
  | { kind: 'files'; files: File[] }
  | { kind: 'blob'; blob: Blob };

/** The object form of a source, or null for a string (a location). */
export function pickedSource(source: ContainerSource): PickedSource | null {
  if (typeof source === 'string') return null;
  const s = source as unknown as Record<string, unknown>;
  if (s['kind'] === 'directory' && typeof s['getDirectoryHandle'] === 'function') {
    return { kind: 'handle', handle: source as unknown as DirectoryHandle };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return { kind: 'blob', blob: source };
  if (Array.isArray(source) || (typeof s['length'] === 'number' && typeof s['item'] === 'function')) {
    return { kind: 'files', files: Array.from(source as ArrayLike<File>) };
  }
  return null;
}

/** Whether `source` is a usable container source (a non-empty string or a picked object). */
export function isContainerSource(source: unknown): source is ContainerSource {
  return (typeof source === 'string' && source !== '') || (source != null && pickedSource(source as never) !== null);
}

/**
 * The name a source goes by in messages and as the default dataset name: the location itself, a
 * picked folder's name, the top folder of picked files, a file's name ('blob' for a nameless Blob).
 */
export function sourceLabel(source: ContainerSource): string {
  const picked = pickedSource(source);
  if (!picked) return source as string;
  switch (picked.kind) {
    case 'handle':
      return picked.handle.name || 'picked folder';
    case 'files':
      return topFolder(picked.files) ?? 'picked files';
    case 'blob':
      return (picked.blob as Partial<File>).name || 'blob';
  }
}

/** The relative path of a picked file (`webkitRelativePath`, else its name). */
export function relativePath(file: File): string {
  return (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
}

/** The folder every picked file sits in (the folder the user picked), or null. */
export function topFolder(files: readonly File[]): string | null {
  const tops = new Set(files.map((f) => (relativePath(f).includes('/') ? relativePath(f).split('/')[0]! : '')));
  const [top] = tops;
  return tops.size === 1 && top ? top : null;
}
