/** The typed array each dtype the reading layer supports is held in. */
import type { DType, StoredArray } from '../types.js';

export interface StoredArrayType {
  new (length: number): StoredArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): StoredArray;
  readonly BYTES_PER_ELEMENT: number;
}

export const STORED_ARRAY_TYPES: Readonly<Record<DType, StoredArrayType>> = {
  bool: Uint8Array, // read as 0/1 bytes
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};
