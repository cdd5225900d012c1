/**
 * Reference arrays written by the Python fixture scripts (scripts/make_*_fixtures.py): JSON
 * documents whose arrays are base64 of little-endian bytes, decoded here to typed arrays.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabelArray } from '../../src/types.js';
import { FIXTURES } from './fixtures.js';

/** The parsed JSON of test/fixtures/<folder>/<name>.json. */
export function readReference<T>(folder: string, name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, folder, `${name}.json`), 'utf8')) as T;
}

function bytes(b64: string): ArrayBuffer {
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

export const float32 = (b64: string) => new Float32Array(bytes(b64));
export const float64 = (b64: string) => new Float64Array(bytes(b64));
export const uint8 = (b64: string) => new Uint8Array(bytes(b64));
export const int32 = (b64: string) => new Int32Array(bytes(b64));

/** Labels of numpy dtype `dtype` (uint8 … uint64). */
export function labelsOf(b64: string, dtype: string): LabelArray {
  const b = bytes(b64);
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(b);
    case 'uint16':
      return new Uint16Array(b);
    case 'uint32':
      return new Uint32Array(b);
    case 'uint64':
      return new BigUint64Array(b);
    default:
      throw new Error(`labelsOf: dtype ${dtype}`);
  }
}
