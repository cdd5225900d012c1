/**
 * Our checking byte decoders, by numcodecs id. numcodecs.js' wasm blosc and lz4 ignore the
 * decoder's status (a corrupt or cut-short chunk decodes to garbage) and zarrita's crc32c strips
 * the checksum without comparing it; these check everything the bytes allow and throw an error
 * saying what is wrong (chunks.ts names the chunk). They are used only by our own read path
 * (pipeline.ts): zarrita's registry is read, never changed.
 *
 * Blosc frames stored without compression (flag 0x02, common for noisy EM raw) come back as a
 * view of the stored bytes, skipping the wasm copy.
 */
import * as zarr from 'zarrita';
import { crc32c } from '../checksums.js';
import { BloscFrameError, bloscHeader, bloscMemcpyedPayload, decodeBloscChecked, inflate, lz4Block } from './blosc.js';

/** Decodes one chunk's (or one N5 block's) bytes; throws with a reason on any inconsistency. */
export type BytesDecoder = (bytes: Uint8Array) => Promise<Uint8Array>;

interface WasmCodec {
  decode(data: Uint8Array): Promise<Uint8Array>;
}
type WasmLoader = () => Promise<{ fromConfig(config: unknown, meta: unknown): WasmCodec }>;

/** numcodecs.js' wasm decoder from zarrita's registry (read, never replaced), made once per name. */
const wasm = new Map<string, Promise<WasmCodec>>();
function wasmCodec(name: 'blosc' | 'zstd', config: unknown): Promise<WasmCodec> {
  let codec = wasm.get(name);
  if (!codec) {
    const load = zarr.registry.get(name) as unknown as WasmLoader | undefined;
    if (!load) throw new Error(`zarrita has no ${name} codec`);
    // The wasm decoders take their parameters from the frame; the configuration only matters for encoding.
    codec = load().then((Codec) => Codec.fromConfig(config, {}));
    wasm.set(name, codec);
  }
  return codec;
}

/**
 * zstd frames through numcodecs' decoder, which reports errors and verifies a frame's checksum.
 * A frame need not announce its content size (the `zstd` CLI writing from a pipe leaves it out):
 * the decoder streams those.
 */
export const zstd: BytesDecoder = async (stream) => {
  try {
    return await (await wasmCodec('zstd', { level: 1 })).decode(stream);
  } catch (error) {
    throw new Error(`zstd stream is corrupt or cut short: ${(error as Error).message}`);
  }
};

/** Blosc 1 frames checked whole before they are trusted (blosc.ts); the rest left to wasm. */
export const blosc: BytesDecoder = async (data) => {
  const stored = bloscMemcpyedPayload(data);
  if (stored) return stored;
  const checked = await decodeBloscChecked(data, { zstd });
  if (checked) return checked;
  const decoded = await (await wasmCodec('blosc', { cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 })).decode(data);
  const { nbytes } = bloscHeader(data);
  if (decoded.length !== nbytes) {
    throw new BloscFrameError(`blosc decoded ${decoded.length} bytes, its header announces ${nbytes}`);
  }
  return decoded;
};

/** numcodecs' LZ4: a little-endian u32 of the decoded size, then one LZ4 block. */
export const lz4: BytesDecoder = async (data) => {
  if (data.length < 4) throw new Error(`lz4 chunk of ${data.length} bytes is shorter than its 4-byte size header`);
  const size = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  const out = new Uint8Array(size);
  let produced: number;
  try {
    produced = lz4Block(data.subarray(4), out);
  } catch (error) {
    throw new Error(`lz4 chunk is corrupt: ${(error as Error).message}`);
  }
  if (produced !== size)
    throw new Error(`lz4 chunk is corrupt: it decodes to ${produced} bytes, its header says ${size}`);
  return out;
};

/** zarr v3's crc32c: the last 4 bytes are the CRC-32C (little-endian) of the rest, and must match. */
export const crc32cChecked: BytesDecoder = async (data) => {
  if (data.length < 4) throw new Error(`crc32c: ${data.length} bytes cannot hold a 4-byte checksum`);
  const body = data.subarray(0, data.length - 4);
  const stored = new DataView(data.buffer, data.byteOffset + data.length - 4, 4).getUint32(0, true);
  const actual = crc32c(body);
  if (stored !== actual) {
    throw new Error(
      `crc32c checksum mismatch (stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')}): the data is damaged`,
    );
  }
  return body;
};

/** gzip and zlib through the platform inflater, keeping its reason (bad header, checksum, unexpected end). */
function inflating(format: 'gzip' | 'deflate'): BytesDecoder {
  const name = format === 'gzip' ? 'gzip' : 'zlib';
  return async (data) => {
    try {
      return await inflate(data, format);
    } catch (error) {
      throw new Error(`${name} stream is corrupt or cut short: ${(error as Error).message}`);
    }
  };
}

/**
 * bzip2 streams (numcodecs' BZ2, N5's bzip2) by seek-bzip, which checks every block's CRC and the
 * stream's: OpenPGP.js's build of it, which works on Uint8Arrays (the original needs Node's Buffer,
 * so it fails in a page).
 */
export const bz2: BytesDecoder = async (data) => {
  const { default: Bunzip } = await import('@openpgp/seek-bzip');
  try {
    return Bunzip.decode(data);
  } catch (error) {
    throw new Error(`bz2 stream is corrupt or cut short: ${(error as Error).message}`);
  }
};

/** xz-embedded's status codes (xz.h), for messages. */
const XZ_ERRORS: Record<string, string> = {
  '2': 'unsupported integrity check',
  '3': 'out of memory',
  '5': 'not an xz stream',
  '6': 'unsupported xz options',
  '7': 'corrupt data',
  '8': 'the stream ends early',
};

type XzStream = new (compressed: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;

/** XZ streams (numcodecs' LZMA in its default XZ format, N5's xz), integrity check verified. */
export const xz: BytesDecoder = async (data) => {
  // A CommonJS module: its exports arrive as the namespace or as its default, depending on the loader.
  const xzModule = (await import('xz-decompress')) as {
    XzReadableStream?: XzStream;
    default?: { XzReadableStream: XzStream };
  };
  const XzReadableStream = xzModule.XzReadableStream ?? xzModule.default!.XzReadableStream;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream();
    return new Uint8Array(await new Response(new XzReadableStream(stream)).arrayBuffer());
  } catch (error) {
    const message = (error as Error).message;
    const code = /error code (\d+)/.exec(message)?.[1];
    throw new Error(`xz stream is corrupt or cut short: ${(code && XZ_ERRORS[code]) ?? message}`);
  }
};

/** numcodecs' LZMA: the XZ container (format 1, its default) is read; the others are refused when opened. */
function lzma(config: Record<string, unknown>): BytesDecoder {
  const format = config['format'] ?? 1;
  if (format !== 1) {
    throw new Error(
      `lzma format ${JSON.stringify(format)} is not supported (only 1, the XZ container numcodecs writes by default)`,
    );
  }
  return xz;
}

/** Our decoders by numcodecs id (zarr v3 names are the same): a factory from the codec's configuration. */
export const CHECKED_DECODERS: Record<string, (config: Record<string, unknown>) => BytesDecoder> = {
  blosc: () => blosc,
  lz4: () => lz4,
  zstd: () => zstd,
  gzip: () => inflating('gzip'),
  zlib: () => inflating('deflate'),
  crc32c: () => crc32cChecked,
  bz2: () => bz2,
  lzma,
};
