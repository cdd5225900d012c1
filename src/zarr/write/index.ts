/** Writing zarr arrays (v2 by default, v3 as an option) with funlib's world-coordinate attributes. */
export {
  type ArraySpec,
  type Compressor,
  type WritableDType,
  WRITABLE_DTYPES,
  arrayMetadataFiles,
  chunkKey,
  funlibAttributes,
  groupMetadataFiles,
} from './metadata.js';
export { type ChunkData, chunkBytes, emptyChunk } from './encode.js';
export { type ArrayLocation, ZarrArrayWriter, writeFileAtomic } from './file-store.js';
