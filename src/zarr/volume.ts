/**
 * A zarr array seen in world coordinates. `read(roi)` gathers the chunks a region touches (through
 * the container's shared chunk cache) into a C-order [spatial..., channels] array, zero-filled
 * wherever the region leaves the array.
 */
import type { ChunkCache } from './chunk-cache.js';
import type { ChunkSource, DecodedChunk } from './chunks.js';
import { DataFormatError, OptionsError } from '../errors.js';
import { copyBox, cOrderStrides, fillBox } from './gather.js';
import { STORED_ARRAY_TYPES, type StoredArrayType } from './dtypes.js';
import type { ArrayMetadata } from './metadata/array.js';
import type { AxisType, SpatialMetadata } from './metadata/funlib.js';
import { roi as makeRoi, roiIsMultipleOf, roiToString, roiVoxelShape, type Roi } from '../roi.js';
import type { DType, StoredArray, Volume } from '../types.js';

const TYPED_ARRAYS: Readonly<Record<string, StoredArrayType>> = STORED_ARRAY_TYPES;

/** A new zero-filled array of a dtype's typed-array type. */
export function newStoredArray(dtype: DType, length: number): StoredArray {
  return new TYPED_ARRAYS[dtype]!(length);
}

function zeroFill(a: StoredArray): StoredArray {
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength).fill(0);
  return a;
}

export function isSupportedDtype(dtype: string): dtype is DType {
  return dtype in TYPED_ARRAYS;
}

export class ZarrVolume implements Volume {
  readonly container: string;
  readonly path: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly axisNames: readonly string[];
  readonly types: readonly AxisType[];
  readonly voxelSize: readonly number[];
  readonly offset: readonly number[];
  readonly units: readonly string[];
  readonly roi: Roi;
  readonly channels: number;
  readonly chunks: readonly number[];
  readonly channelAxis: number | null;
  /** Stored axis index of each spatial axis, in order. */
  private readonly spatialAxes: number[];
  /** How the array's world metadata was read (its convention), for `inspect`. */
  readonly convention: string;
  private readonly reader: ChunkSource;
  private readonly fillValue: number | bigint;
  private readonly cache: ChunkCache<DecodedChunk>;

  constructor(args: {
    container: string;
    path: string;
    /** The array's chunks (zarr or N5). */
    source: ChunkSource;
    /** The checked metadata: shape, chunk shape, dtype and the exact fill value come from here. */
    stored: ArrayMetadata;
    metadata: SpatialMetadata;
    cache: ChunkCache<DecodedChunk>;
  }) {
    const { source, metadata, stored } = args;
    this.container = args.container;
    this.path = args.path;
    if (!isSupportedDtype(stored.dtype)) {
      throw new DataFormatError(`has dtype ${stored.dtype}, which tfjs-zarr cannot read`, {
        container: args.container,
        path: args.path,
        attribute: 'dtype',
      });
    }
    this.dtype = stored.dtype;
    this.shape = [...stored.shape];
    this.chunks = [...stored.chunks];
    this.axisNames = metadata.axisNames;
    this.types = metadata.types;
    this.voxelSize = metadata.voxelSize;
    this.offset = metadata.offset;
    this.units = metadata.units;
    this.channelAxis = metadata.channelAxis;
    this.spatialAxes = this.shape.map((_, i) => i).filter((i) => i !== metadata.channelAxis);
    this.channels = metadata.channelAxis === null ? 1 : this.shape[metadata.channelAxis]!;
    this.roi = makeRoi(
      this.offset,
      this.spatialAxes.map((a, i) => this.shape[a]! * this.voxelSize[i]!),
    );
    this.convention = metadata.convention;
    this.fillValue = stored.fillValue;
    const reader = source;
    this.cache = args.cache;
    const cache = args.cache;
    const cacheId = `${args.container}|${args.path}`;
    this.reader = {
      key: reader.key,
      read: (coords) =>
        cache.get(
          `${cacheId}|${coords.join(',')}`,
          () => reader.read(coords),
          (c) => (c.data ? c.data.byteLength : 64),
        ),
    };
  }

  /** Takes `bytes` of the container's chunk-cache cap for data derived from this array (ChunkCache.reserve). */
  reserveCache(bytes: number): boolean {
    return this.cache.reserve(bytes);
  }

  /** Voxel shape of the spatial axes. */
  get spatialShape(): number[] {
    return this.spatialAxes.map((a) => this.shape[a]!);
  }

  /**
   * Stored values over `region`. `into`: an array of this dtype and the region's size to write
   * into instead of a new one (its old contents are overwritten, zeros included).
   */
  async read(region: Roi, into?: StoredArray): Promise<StoredArray> {
    const request = this.request(region);
    const Typed = TYPED_ARRAYS[this.dtype]!;
    if (into !== undefined && (into.length !== request.length || into.constructor !== Typed)) {
      throw new OptionsError(`read: the output array must be a ${Typed.name} of ${request.length} elements`);
    }
    const reused = into !== undefined;
    let out: StoredArray;
    try {
      out = into ?? new Typed(request.length);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new OptionsError(
        `${this.container}, array ${this.path}: read ROI ${roiToString(region)} needs ${request.length} ${this.dtype} ` +
          'values, more than can be allocated at once; read it in smaller blocks',
      );
    }
    if (reused && !request.inside) zeroFill(out);
    const { outStrides } = request;
    // Copy each chunk as soon as it arrives; the cache bounds how many decode at once.
    await Promise.all(
      this.chunksOf(request).map(async (coords) => {
        const { chunk, srcStart, dstStart, count } = this.piece(request, coords, await this.reader.read(coords));
        if (chunk.data) {
          copyBox(chunk.data, chunk.stride, srcStart, out, outStrides, dstStart, count);
        } else if (reused || (this.fillValue !== 0 && this.fillValue !== 0n)) {
          fillBox(out, outStrides, dstStart, count, this.fillValue);
        }
      }),
    );
    return out;
  }

  /**
   * The chunks `region` touches, each with the box it gives, for reading them in place instead of
   * through a gathered copy (`read` = these boxes copied into a zero-filled array).
   */
  async pieces(region: Roi): Promise<{ pieces: ChunkPiece[]; inside: boolean; fillValue: number | bigint }> {
    const request = this.request(region);
    const pieces = await Promise.all(
      this.chunksOf(request).map(async (coords) => this.piece(request, coords, await this.reader.read(coords))),
    );
    return { pieces, inside: request.inside, fillValue: this.fillValue };
  }

  /** The checked request: its size, output strides and the chunks it touches. */
  private request(region: Roi): ReadRequest {
    const nSpatial = this.spatialAxes.length;
    if (region.offset.length !== nSpatial || region.shape.length !== nSpatial) {
      throw new OptionsError(
        `${this.container}, array ${this.path}: read ROI ${roiToString(region)} has ` +
          `${region.offset.length} axes, the array has ${nSpatial} spatial axes`,
      );
    }
    if (!roiIsMultipleOf(region, this.voxelSize)) {
      throw new OptionsError(
        `${this.container}, array ${this.path}: read ROI ${roiToString(region)} is not aligned to ` +
          `the voxel size [${this.voxelSize.join(', ')}]`,
      );
    }
    const outSpatial = roiVoxelShape(region, this.voxelSize);
    const C = this.channels;
    const length = outSpatial.reduce((a, b) => a * b, 1) * C;
    const outStridesSpatial = cOrderStrides([...outSpatial, C]).slice(0, nSpatial);

    // Voxel box of the request in array coordinates, clipped to the array.
    const begin = region.offset.map((o, i) => (o - this.offset[i]!) / this.voxelSize[i]!);
    const arrayShape = this.spatialShape;
    const lo = begin.map((b) => Math.max(0, b));
    const hi = begin.map((b, i) => Math.min(arrayShape[i]!, b + outSpatial[i]!));
    const inside = lo.every((l, i) => l === begin[i] && hi[i] === begin[i]! + outSpatial[i]!);

    // Per stored axis: the index range wanted, and where the output index 0 sits.
    const wantLo: number[] = [];
    const wantHi: number[] = [];
    const outOrigin: number[] = [];
    const outStrides: number[] = [];
    this.shape.forEach((n, axis) => {
      const s = this.spatialAxes.indexOf(axis);
      if (s < 0) {
        wantLo.push(0);
        wantHi.push(n);
        outOrigin.push(0);
        outStrides.push(1);
      } else {
        wantLo.push(lo[s]!);
        wantHi.push(hi[s]!);
        outOrigin.push(begin[s]!);
        outStrides.push(outStridesSpatial[s]!);
      }
    });

    const empty = lo.some((l, i) => l >= hi[i]!);
    return { length, inside, empty, outStrides, wantLo, wantHi, outOrigin };
  }

  /** The chunks a request touches (listed once its output is allocated: a huge request fails there first). */
  private chunksOf(request: ReadRequest): number[][] {
    const chunks: number[][] = [];
    if (request.empty) return chunks;
    const chunkLo = request.wantLo.map((l, a) => Math.floor(l / this.chunks[a]!));
    const chunkHi = request.wantHi.map((h, a) => Math.ceil(h / this.chunks[a]!));
    const visit = (axis: number, prefix: number[]) => {
      if (axis === this.shape.length) {
        chunks.push(prefix);
        return;
      }
      for (let c = chunkLo[axis]!; c < chunkHi[axis]!; c++) visit(axis + 1, [...prefix, c]);
    };
    visit(0, []);
    return chunks;
  }

  /** The box a chunk gives to a request. */
  private piece(request: ReadRequest, coords: number[], chunk: DecodedChunk): ChunkPiece {
    const srcStart: number[] = [];
    const dstStart: number[] = [];
    const count: number[] = [];
    coords.forEach((c, a) => {
      const chunkBegin = c * this.chunks[a]!;
      const from = Math.max(request.wantLo[a]!, chunkBegin);
      const to = Math.min(request.wantHi[a]!, chunkBegin + this.chunks[a]!);
      srcStart.push(from - chunkBegin);
      dstStart.push(from - request.outOrigin[a]!);
      count.push(to - from);
    });
    return { chunk, srcStart, dstStart, count };
  }
}

/**
 * A chunk's part of a read, over the stored axes: `count` elements from `srcStart` in the chunk
 * (strides `chunk.stride`; `chunk.data` null: all the fill value) to `dstStart` in the region.
 */
export interface ChunkPiece {
  chunk: DecodedChunk;
  srcStart: number[];
  dstStart: number[];
  count: number[];
}

interface ReadRequest {
  /** Elements of the region ([spatial..., channels]). */
  length: number;
  /** Whether the region lies within the array (else the rest reads as zeros). */
  inside: boolean;
  /** Per stored axis: output strides, the index range wanted, where output index 0 sits. */
  outStrides: number[];
  wantLo: number[];
  wantHi: number[];
  outOrigin: number[];
  /** Whether the region misses the array altogether. */
  empty: boolean;
}
