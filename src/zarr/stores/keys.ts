/**
 * Store keys are file names, never URLs. zarrita's `Location.resolve` runs every path through
 * `new URL(...)` and `decodeURIComponent`, so a folder named `crop%5Fa` would resolve to `crop_a`,
 * `crop#1` would lose its `#1` as a fragment and `a:b` would parse as a URL scheme. We hand zarrita
 * paths in which the characters URL parsing alters are replaced by private-use characters (which
 * survive URL parsing and decoding unchanged), and wrap the store so it maps them back before
 * touching the medium.
 */
import type { AbsolutePath, AsyncReadable, GetOptions, RangeQuery } from '@zarrita/storage';

const ESCAPE = '\uE000';
/** Characters that `new URL` + `decodeURIComponent` would change or drop in a path. */
const SPECIAL = /[\uE000%#?\\:\t\n\r]/g;

/** The path to give zarrita for a real key path. */
export function escapeKeyPath(path: string): string {
  return path.replace(SPECIAL, (c) => ESCAPE + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** The real key path for a path zarrita resolved from an escaped one. */
export function unescapeKeyPath(path: string): string {
  return path.replace(/\uE000([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** A store for zarrita: keys arrive escaped, the inner store sees the real file names. */
export function unescapingStore(inner: AsyncReadable): AsyncReadable {
  const real = (key: AbsolutePath) => unescapeKeyPath(key) as AbsolutePath;
  const store: AsyncReadable = { get: (key, options) => inner.get(real(key), options) };
  if (inner.getRange) {
    const getRange = inner.getRange.bind(inner);
    store.getRange = (key: AbsolutePath, range: RangeQuery, options?: GetOptions) =>
      getRange(real(key), range, options);
  }
  return store;
}
