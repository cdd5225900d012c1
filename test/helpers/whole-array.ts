/**
 * An array of a container read whole through the library's read path (metadata checks, our codec
 * pipeline, the volume's gather), as C-order bytes, with the SHA-256 the decoder fixtures record.
 */
import { createHash } from 'node:crypto';
import { openVolumeAt } from '../../src/zarr/container.js';
import type { StoredArray } from '../../src/types.js';
import { captureWarnings } from './fixtures.js';

export async function readWholeArray(container: string, path: string): Promise<{ shape: number[]; data: StoredArray }> {
  // Decoder fixtures carry no world metadata: the defaults' warning is expected.
  const { result } = await captureWarnings(async () => {
    const volume = await openVolumeAt(container, path);
    return { shape: [...volume.shape], data: await volume.read(volume.roi) };
  });
  return result;
}

export function sha256(data: ArrayBufferView): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}
