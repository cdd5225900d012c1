/**
 * PNG encoding of 8-bit gray, RGB or RGBA images (pngjs) and helpers to turn slices of [z, y, x]
 * volumes into images for reports.
 */
import { PNG } from 'pngjs';
import { OptionsError } from '../errors.js';

export type Channels = 1 | 3 | 4;

/** An 8-bit image, rows top to bottom, interleaved channels. */
export interface PixelImage {
  width: number;
  height: number;
  channels: Channels;
  data: Uint8Array;
}

const COLOR_TYPES: Record<Channels, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

/** Encodes 8-bit pixels (rows top to bottom, channels interleaved) as a PNG file (with pngjs). */
export function encodePng(width: number, height: number, data: Uint8Array, channels: Channels): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new OptionsError(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw new OptionsError(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  const rowBytes = width * channels;
  if (data.length !== rowBytes * height) {
    throw new OptionsError(
      `encodePng: expected ${rowBytes * height} bytes for ${width}×${height}×${channels}, got ${data.length}`,
    );
  }
  const colorType = COLOR_TYPES[channels];
  const image = { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) } as PNG;
  const png = PNG.sync.write(image, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Encodes a PixelImage as PNG. */
export function imageToPng(image: PixelImage): Uint8Array {
  return encodePng(image.width, image.height, image.data, image.channels);
}

/** One gray channel to three identical RGB channels. */
export function grayToRgb(gray: Uint8Array): Uint8Array {
  const out = new Uint8Array(gray.length * 3);
  for (let i = 0; i < gray.length; i++) {
    const g = gray[i]!;
    out[3 * i] = g;
    out[3 * i + 1] = g;
    out[3 * i + 2] = g;
  }
  return out;
}

function toRgb(image: PixelImage): PixelImage {
  if (image.channels === 3) return image;
  if (image.channels === 1) return { ...image, channels: 3, data: grayToRgb(image.data) };
  const out = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; i < out.length; i += 3, j += 4) {
    const a = image.data[j + 3]! / 255;
    // Composite on white.
    out[i] = Math.round(image.data[j]! * a + 255 * (1 - a));
    out[i + 1] = Math.round(image.data[j + 1]! * a + 255 * (1 - a));
    out[i + 2] = Math.round(image.data[j + 2]! * a + 255 * (1 - a));
  }
  return { width: image.width, height: image.height, channels: 3, data: out };
}

/** Values of a [z, y, x] (C order) volume accepted by the slice helpers. */
export type VolumeValues =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | BigUint64Array
  | BigInt64Array;

function checkSlice(values: { length: number }, shape: readonly number[], z: number): [number, number] {
  if (shape.length !== 3) throw new OptionsError(`expected a [z, y, x] shape, got [${shape.join(', ')}]`);
  const [Z, Y, X] = shape as [number, number, number];
  if (values.length !== Z * Y * X)
    throw new OptionsError(`volume has ${values.length} values, shape [${shape.join(', ')}] needs ${Z * Y * X}`);
  if (!Number.isInteger(z) || z < 0 || z >= Z) throw new OptionsError(`slice ${z} outside [0, ${Z})`);
  return [Y, X];
}

/**
 * Gray image of section `z` of a [z, y, x] volume, `range` mapped to 0..255 (default: the
 * slice's own min..max; a constant slice is mid-gray).
 */
export function sliceToGray(
  volume: Float32Array | Float64Array | Uint8Array | Uint16Array,
  shape: readonly number[],
  z: number,
  options: { range?: [number, number] } = {},
): PixelImage {
  const [Y, X] = checkSlice(volume, shape, z);
  const slice = volume.subarray(z * Y * X, (z + 1) * Y * X);
  let lo: number;
  let hi: number;
  if (options.range) [lo, hi] = options.range;
  else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < slice.length; i++) {
      const v = slice[i]!;
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  }
  const data = new Uint8Array(Y * X);
  const span = hi - lo;
  for (let i = 0; i < slice.length; i++) {
    const v = slice[i]!;
    if (span <= 0) data[i] = 128;
    else {
      const t = Math.round(((v - lo) / span) * 255);
      data[i] = Number.isNaN(t) ? 0 : t < 0 ? 0 : Math.min(t, 255);
    }
  }
  return { width: X, height: Y, channels: 1, data };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stable, well-spread colour for a label id (id 0 → black). */
export function labelColor(id: number | bigint): [number, number, number] {
  let lo: number;
  let hi: number;
  if (typeof id === 'bigint') {
    if (id === 0n) return [0, 0, 0];
    lo = Number(BigInt.asUintN(32, id));
    hi = Number(BigInt.asUintN(32, id >> 32n));
  } else {
    if (id === 0) return [0, 0, 0];
    lo = id >>> 0;
    hi = Math.floor(id / 4294967296) >>> 0;
  }
  const h = fmix32(lo ^ fmix32(hi + 0x9e3779b9));
  // HSV with high saturation and value: distinct, never near black.
  const hue = (h & 0xffff) / 0x10000;
  const sat = 0.55 + (((h >>> 16) & 0xff) / 255) * 0.4;
  const val = 0.75 + (((h >>> 24) & 0xff) / 255) * 0.25;
  return hsvToRgb(hue, sat, val);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6]!;
  return [Math.round(r! * 255), Math.round(g! * 255), Math.round(b! * 255)];
}

/** RGB image of section `z` of a [z, y, x] label volume, each id coloured by a hash (0 → black). */
export function labelSliceToRgb(labels: VolumeValues, shape: readonly number[], z: number): PixelImage {
  const [Y, X] = checkSlice(labels, shape, z);
  const data = new Uint8Array(Y * X * 3);
  const base = z * Y * X;
  let lastId: number | bigint | undefined;
  let lastColor: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < Y * X; i++) {
    const id = labels[base + i]!;
    if (id !== lastId) {
      lastId = id;
      lastColor = labelColor(typeof id === 'bigint' ? id : Math.round(id));
    }
    data[3 * i] = lastColor[0];
    data[3 * i + 1] = lastColor[1];
    data[3 * i + 2] = lastColor[2];
  }
  return { width: X, height: Y, channels: 3, data };
}

/**
 * Panels side by side (top-aligned) as one RGB image, `gap` pixels of `background` between them
 * and around shorter panels.
 */
export function hconcat(
  images: readonly PixelImage[],
  options: { gap?: number; background?: number } = {},
): PixelImage {
  if (images.length === 0) throw new OptionsError('hconcat: no images');
  const gap = options.gap ?? 4;
  const bg = options.background ?? 255;
  const height = Math.max(...images.map((im) => im.height));
  const width = images.reduce((a, im) => a + im.width, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(bg);
  let x0 = 0;
  for (const image of images) {
    const rgb = toRgb(image);
    for (let y = 0; y < rgb.height; y++) {
      data.set(rgb.data.subarray(y * rgb.width * 3, (y + 1) * rgb.width * 3), (y * width + x0) * 3);
    }
    x0 += rgb.width + gap;
  }
  return { width, height, channels: 3, data };
}

/** Nearest-neighbour enlargement by an integer factor (small crops are hard to see at 1:1). */
export function upscale(image: PixelImage, factor: number): PixelImage {
  if (!Number.isInteger(factor) || factor < 1)
    throw new OptionsError(`upscale: factor must be a positive integer, got ${factor}`);
  if (factor === 1) return image;
  const c = image.channels;
  const width = image.width * factor;
  const height = image.height * factor;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < width; x++) {
      const si = (sy * image.width + Math.floor(x / factor)) * c;
      const di = (y * width + x) * c;
      for (let k = 0; k < c; k++) data[di + k] = image.data[si + k]!;
    }
  }
  return { width, height, channels: c, data };
}
