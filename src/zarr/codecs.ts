/**
 * Checking decoders in zarrita's codec registry. The stock ones trust their input: numcodecs'
 * wasm blosc and lz4 ignore the decoder's status (a corrupt or cut-short chunk decodes to
 * garbage), zarrita's crc32c strips the checksum without comparing it. Ours check everything the
 * bytes allow (see blosc.ts) and throw an error saying what is wrong; chunks.ts names the chunk.
 * Blosc frames stored without compression (flag 0x02, common for noisy EM raw) are returned as a
 * view of the stored bytes, skipping the wasm copy.
 */
import * as zarr from 'zarrita';
import { BloscFrameError, bloscHeader, bloscMemcpyedPayload, decodeBloscChecked, inflate, lz4Block } from './blosc.js';
import { crc32c } from './checksums.js';

export { bloscMemcpyedPayload } from './blosc.js';

interface BytesCodec {
  kind?: string;
  encode(data: Uint8Array): Promise<Uint8Array>;
  decode(data: Uint8Array): Promise<Uint8Array>;
  computeEncodedSize?(size: number): number;
}
interface BytesCodecClass {
  fromConfig(config: unknown, meta: unknown): BytesCodec;
}
type Loader = () => Promise<BytesCodecClass>;

let zstdDecoder: Promise<BytesCodec> | null = null;
function zstd(stream: Uint8Array): Promise<Uint8Array> {
  zstdDecoder ??= (zarr.registry.get('zstd') as unknown as Loader)().then((Z) => Z.fromConfig({ level: 1 }, {}));
  return zstdDecoder.then((z) => z.decode(stream));
}

function bloscCodec(original: Loader): Loader {
  return async () => {
    const Inner = await original();
    return {
      fromConfig(config: unknown, meta: unknown): BytesCodec {
        const inner = Inner.fromConfig(config, meta);
        return {
          encode: (data) => inner.encode(data),
          decode: async (data) => {
            const stored = bloscMemcpyedPayload(data);
            if (stored) return stored;
            const checked = await decodeBloscChecked(data, { zstd });
            if (checked) return checked;
            const decoded = await inner.decode(data);
            const { nbytes } = bloscHeader(data);
            if (decoded.length !== nbytes) {
              throw new BloscFrameError(`blosc decoded ${decoded.length} bytes, its header announces ${nbytes}`);
            }
            return decoded;
          },
        };
      },
    };
  };
}

/** numcodecs' LZ4: a little-endian u32 of the decoded size, then one LZ4 block. */
const lz4Codec: Loader = async () => ({
  fromConfig: () => ({
    encode: () => Promise.reject(new Error('tfjs-zarr does not write lz4')),
    async decode(data: Uint8Array) {
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
    },
  }),
});

/** zarr v3's crc32c: the last 4 bytes are the CRC-32C (little-endian) of the rest, and must match. */
const crc32cCodec: Loader = async () => ({
  fromConfig: () => ({
    kind: 'bytes_to_bytes',
    encode: () => Promise.reject(new Error('tfjs-zarr does not write crc32c')),
    async decode(data: Uint8Array) {
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
    },
    computeEncodedSize: (size: number) => size + 4,
  }),
});

/** gzip and zlib through the platform inflater, keeping its reason (bad header, checksum, unexpected end). */
function inflateCodec(format: 'gzip' | 'deflate'): Loader {
  const name = format === 'gzip' ? 'gzip' : 'zlib';
  return async () => ({
    fromConfig: () => ({
      kind: 'bytes_to_bytes',
      encode: () => Promise.reject(new Error(`tfjs-zarr does not write ${name}`)),
      async decode(data: Uint8Array) {
        try {
          return await inflate(data, format);
        } catch (error) {
          throw new Error(`${name} stream is corrupt or cut short: ${(error as Error).message}`);
        }
      },
    }),
  });
}

let registered = false;

export function registerFastCodecs(): void {
  if (registered) return;
  registered = true;
  for (const name of ['blosc', 'numcodecs.blosc']) {
    const original = zarr.registry.get(name);
    if (original) zarr.registry.set(name, bloscCodec(original as unknown as Loader) as never);
  }
  for (const name of ['lz4', 'numcodecs.lz4']) zarr.registry.set(name, lz4Codec as never);
  zarr.registry.set('crc32c', crc32cCodec as never);
  for (const name of ['gzip', 'numcodecs.gzip']) zarr.registry.set(name, inflateCodec('gzip') as never);
  for (const name of ['zlib', 'numcodecs.zlib']) zarr.registry.set(name, inflateCodec('deflate') as never);
}
