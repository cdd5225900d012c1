/**
 * A faster blosc decoder for zarrita's codec registry. numcodecs' wasm blosc decodes at about
 * 250 MB/s and copies its result out of wasm memory, even for chunks that blosc stored without
 * compression (header flag 0x02, common for noisy EM raw). Those chunks are returned as a view of
 * the stored bytes; everything else goes to numcodecs as before.
 */
import * as zarr from 'zarrita';

const BLOSC_HEADER_BYTES = 16;
const BLOSC_MEMCPYED = 0x02;

interface BytesCodec {
  encode(data: Uint8Array): Promise<Uint8Array>;
  decode(data: Uint8Array): Promise<Uint8Array>;
}
interface BytesCodecClass {
  fromConfig(config: unknown, meta: unknown): BytesCodec;
}

/** The payload of a blosc frame stored uncompressed, or null when it needs real decoding. */
export function bloscMemcpyedPayload(data: Uint8Array): Uint8Array | null {
  if (data.length < BLOSC_HEADER_BYTES) return null;
  const flags = data[2]!;
  if ((flags & BLOSC_MEMCPYED) === 0) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nbytes = view.getUint32(4, true);
  if (BLOSC_HEADER_BYTES + nbytes > data.length) return null;
  const payload = data.subarray(BLOSC_HEADER_BYTES, BLOSC_HEADER_BYTES + nbytes);
  // The bytes codec builds typed views over this; keep it aligned for 8-byte types.
  return payload.byteOffset % 8 === 0 ? payload : payload.slice();
}

let registered = false;

export function registerFastCodecs(): void {
  if (registered) return;
  registered = true;
  for (const name of ['blosc', 'numcodecs.blosc']) {
    const original = zarr.registry.get(name);
    if (!original) continue;
    zarr.registry.set(name, async () => {
      const Inner = (await original()) as unknown as BytesCodecClass;
      return {
        fromConfig(config: unknown, meta: unknown): BytesCodec {
          const inner = Inner.fromConfig(config, meta);
          return {
            encode: (data) => inner.encode(data),
            decode: async (data) => bloscMemcpyedPayload(data) ?? inner.decode(data),
          };
        },
      } as never;
    });
  }
}
