/**
 * A chunk's codec list (zarr v3 names; v2 metadata converted to the same list in
 * metadata/array.ts) as one decoder: bytes-to-bytes codecs in reverse, then bytes to a typed
 * array, then array-to-array codecs in reverse, as zarr specifies. Our checking decoders
 * (checked.ts), `bytes` and `transpose` are ours; the few others (numcodecs' delta, shuffle,
 * bitround; v3's scale_offset, cast_value) come from zarrita's registry, which is only read.
 */
import * as zarr from 'zarrita';
import type { DType, StoredArray } from '../../types.js';
import { STORED_ARRAY_TYPES } from '../dtypes.js';
import { cOrderStrides } from '../gather.js';
import { CHECKED_DECODERS } from './checked.js';

export interface CodecSpec {
  name: string;
  configuration?: Record<string, unknown>;
}

/** A decoded chunk in the layout its codecs give (transposed chunks have non-C strides). */
export interface ChunkArray {
  data: StoredArray;
  shape: number[];
  stride: number[];
}

/** What each codec is configured for: the chunk's dtype and shape as that codec sees them. */
interface ChunkMeta {
  dataType: DType;
  shape: number[];
  codecs: CodecSpec[];
  fillValue: number | bigint | boolean | null;
}

type ArrayToArray = {
  kind: 'array_to_array';
  decode(chunk: ChunkArray): ChunkArray | Promise<ChunkArray>;
  getEncodedMeta?(meta: ChunkMeta): ChunkMeta;
};
type ArrayToBytes = { kind: 'array_to_bytes'; decode(bytes: Uint8Array): ChunkArray | Promise<ChunkArray> };
type BytesToBytes = { kind: 'bytes_to_bytes'; decode(bytes: Uint8Array): Uint8Array | Promise<Uint8Array> };
type Codec = ArrayToArray | ArrayToBytes | BytesToBytes;
type ZarritaLoader = () => Promise<{ fromConfig(config: unknown, meta: ChunkMeta): Codec }>;

const baseName = (name: string) => name.replace(/^numcodecs\./, '');

/** Whether a codec name is one the read path can decode (for metadata checks). */
export function isKnownCodec(name: string): boolean {
  return baseName(name) in CHECKED_DECODERS || name === 'bytes' || name === 'transpose' || zarr.registry.has(name);
}

export interface ChunkDecoder {
  decode(bytes: Uint8Array): Promise<ChunkArray>;
}

/**
 * The decoder of a chunk of `shape` and `dtype` stored through `codecs`. Codecs are made on first
 * use (zarrita's load lazily, like its own pipeline); a codec that cannot be made fails that decode.
 */
export function chunkDecoder(codecs: CodecSpec[], dtype: DType, shape: number[]): ChunkDecoder {
  let steps: Promise<Steps> | null = null;
  return {
    async decode(bytes) {
      steps ??= buildSteps({ dataType: dtype, shape, codecs, fillValue: 0 });
      const { toBytes, toArray, arrayToArray } = await steps;
      let b = bytes;
      for (let i = toBytes.length - 1; i >= 0; i--) b = await toBytes[i]!.decode(b);
      let chunk = await toArray.decode(b);
      for (let i = arrayToArray.length - 1; i >= 0; i--) chunk = await arrayToArray[i]!.decode(chunk);
      return chunk;
    },
  };
}

interface Steps {
  toBytes: BytesToBytes[];
  toArray: ArrayToBytes;
  arrayToArray: ArrayToArray[];
}

async function buildSteps(meta: ChunkMeta): Promise<Steps> {
  const toBytes: BytesToBytes[] = [];
  const arrayToArray: ArrayToArray[] = [];
  let toArray: ArrayToBytes | null = null;
  // Array-to-array codecs may change the chunk as the codecs after them see it (transpose: the
  // shape; cast_value: the dtype): thread the metadata through, as zarrita does.
  let current = meta;
  for (const spec of meta.codecs) {
    const codec = await makeCodec(spec, current);
    if (codec.kind === 'array_to_array') {
      arrayToArray.push(codec);
      if (codec.getEncodedMeta) current = codec.getEncodedMeta(current);
    } else if (codec.kind === 'array_to_bytes') toArray = codec;
    else toBytes.push(codec);
  }
  return { toBytes, toArray: toArray ?? bytesCodec({}, current), arrayToArray };
}

async function makeCodec(spec: CodecSpec, meta: ChunkMeta): Promise<Codec> {
  const config = spec.configuration ?? {};
  const checked = CHECKED_DECODERS[baseName(spec.name)];
  if (checked) return { kind: 'bytes_to_bytes', decode: checked(config) };
  if (spec.name === 'bytes') return bytesCodec(config, meta);
  if (spec.name === 'transpose') return transposeCodec(config, meta);
  const load = zarr.registry.get(spec.name) as ZarritaLoader | undefined;
  if (!load) throw new Error(`codec "${spec.name}" is not known`);
  return (await load()).fromConfig(config, meta);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Swaps the bytes of every `size`-byte element in place. */
export function byteswap(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * A typed array over a chunk's bytes in the host's byte order: a view where the bytes allow
 * (little-endian, aligned), else a copy (unaligned views, big-endian data swapped).
 */
export function typedView(bytes: Uint8Array, dtype: DType, bigEndian: boolean): StoredArray {
  const Typed = STORED_ARRAY_TYPES[dtype];
  const size = Typed.BYTES_PER_ELEMENT;
  const swap = size > 1 && bigEndian === LITTLE_ENDIAN_HOST;
  let b = bytes;
  if (swap || b.byteOffset % size !== 0) b = b.slice();
  if (swap) byteswap(b, size);
  return new Typed(b.buffer, b.byteOffset, Math.floor(b.byteLength / size));
}

/** zarr's `bytes` codec: the chunk's elements in C order, little-endian unless said otherwise. */
function bytesCodec(config: Record<string, unknown>, meta: ChunkMeta): ArrayToBytes {
  const bigEndian = config['endian'] === 'big';
  const stride = cOrderStrides(meta.shape);
  return {
    kind: 'array_to_bytes',
    decode: (bytes) => ({ data: typedView(bytes, meta.dataType, bigEndian), shape: meta.shape, stride }),
  };
}

/**
 * zarr's `transpose` (and v2's `order: "F"`): the stored chunk holds axis `order[k]` as its k-th
 * axis. Decoding copies nothing: the chunk keeps its bytes and gets the strides that read them.
 */
function transposeCodec(config: Record<string, unknown>, meta: ChunkMeta): ArrayToArray {
  const rank = meta.shape.length;
  const value = config['order'] ?? 'C';
  const order =
    value === 'C'
      ? meta.shape.map((_, i) => i)
      : value === 'F'
        ? meta.shape.map((_, i) => rank - 1 - i)
        : (value as number[]);
  if (!Array.isArray(order) || [...order].sort((a, b) => a - b).some((a, i) => a !== i) || order.length !== rank) {
    throw new Error(`transpose order ${JSON.stringify(value)} is not a permutation of ${rank} axes`);
  }
  const stored = order.map((a) => meta.shape[a]!);
  const storedStrides = cOrderStrides(stored);
  const stride = new Array<number>(rank);
  order.forEach((axis, k) => {
    stride[axis] = storedStrides[k]!;
  });
  return {
    kind: 'array_to_array',
    decode: (chunk) => ({ data: chunk.data, shape: meta.shape, stride }),
    getEncodedMeta: (m) => ({ ...m, shape: stored }),
  };
}
