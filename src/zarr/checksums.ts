/** CRC-32 (zip entries) and CRC-32C (zarr v3's crc32c codec), table-driven, over bytes. */

function table(polynomial: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

const CRC32_TABLE = table(0xedb88320);
const CRC32C_TABLE = table(0x82f63b78);

function crc(t: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32 = (bytes: Uint8Array): number => crc(CRC32_TABLE, bytes);
export const crc32c = (bytes: Uint8Array): number => crc(CRC32C_TABLE, bytes);
