/**
 * A data split opened by the bundled library in a page, seen from the test process as the
 * fixtures helpers' SplitLike: metadata copied over, every read run in the page and its typed
 * array rebuilt here (same class, uint64 ids exact through strings), so the Node read tests'
 * assertions (test/helpers/fixtures.ts) judge the page's reads.
 */
import type { Page } from 'playwright-core';
import type { CropLike, RoiJ, SplitLike, VolumeLike } from './fixtures.js';

declare const tz: typeof import('../../src/browser.js');

/**
 * How the page gets the container: a URL (with DataConfig options such as `bucket`), the picked
 * files of #folder, a .zip fetched as a Blob, an OPFS folder.
 */
export type PageSource =
  | { kind: 'url'; url: string; options?: Record<string, unknown> }
  | { kind: 'files' }
  | { kind: 'zip'; url: string }
  | { kind: 'opfs'; folder: string };

interface Wire {
  className: string;
  values: (number | string)[];
}

interface VolumeMeta {
  path: string;
  dtype: string;
  shape: number[];
  axisNames: string[];
  voxelSize: number[];
  offset: number[];
  units: string[];
  roi: RoiJ;
  channels: number;
}

interface CropMeta {
  name: string;
  voxelSize: number[];
  raw: VolumeMeta;
  labels: VolumeMeta;
  mask: VolumeMeta | null;
}

const CLASSES: Record<string, new (values: never[]) => ArrayLike<number | bigint>> = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function fromWire(w: Wire): never {
  const Class = CLASSES[w.className];
  if (!Class) throw new Error(`the page returned a ${w.className}`);
  const big = w.className.startsWith('Big');
  return new Class(w.values.map((v) => (big ? BigInt(v) : Number(v))) as never[]) as never;
}

/** Opens `source` in the page (as `globalThis.splits[id]`) and returns it as a SplitLike. */
export async function remoteSplit(page: Page, source: PageSource, id: string): Promise<SplitLike> {
  const meta = await page.evaluate(
    async ({ source, id }) => {
      let container: Parameters<typeof tz.openDataSplit>[0];
      if (source.kind === 'url') container = source.url;
      else if (source.kind === 'files') container = (document.querySelector('#folder') as HTMLInputElement).files!;
      else if (source.kind === 'zip') container = await (await fetch(source.url)).blob();
      else container = await (await navigator.storage.getDirectory()).getDirectoryHandle(source.folder);
      const options = source.kind === 'url' ? source.options : undefined;
      const split = await tz.openDataSplit(options ? { ...options, path: container } : container);
      const g = globalThis as unknown as { splits?: Record<string, unknown> };
      g.splits ??= {};
      g.splits[id] = split;
      const volume = (v: import('../../src/zarr/crop.js').CropVolume | null) =>
        v && {
          path: v.path,
          dtype: v.dtype,
          shape: [...v.shape],
          axisNames: [...v.axisNames],
          voxelSize: [...v.voxelSize],
          offset: [...v.offset],
          units: [...v.units],
          roi: { offset: [...v.roi.offset], shape: [...v.roi.shape] },
          channels: v.channels,
        };
      const crop = (c: (typeof split.train)[number]) => ({
        name: c.name,
        voxelSize: [...c.voxelSize],
        raw: volume(c.raw)!,
        labels: volume(c.labels)!,
        mask: volume(c.mask),
      });
      return { train: split.train.map(crop), test: split.test.map(crop), container: split.container };
    },
    { source, id },
  );
  const wrapCrop = (c: CropMeta, part: 'train' | 'test', index: number): CropLike => {
    const wrapVolume = (v: VolumeMeta, which: 'raw' | 'labels' | 'mask'): VolumeLike => ({
      ...v,
      read: async (roi) =>
        fromWire(
          await page.evaluate(
            async ({ id, part, index, which, roi }) => {
              const split = (
                globalThis as unknown as { splits: Record<string, Awaited<ReturnType<typeof tz.openDataSplit>>> }
              ).splits[id]!;
              const data = await split[part][index]![which]!.read(roi);
              return {
                className: data.constructor.name,
                values: Array.from(data as ArrayLike<number | bigint>, String),
              };
            },
            { id, part, index, which, roi },
          ),
        ),
    });
    return {
      name: c.name,
      voxelSize: c.voxelSize,
      raw: wrapVolume(c.raw, 'raw'),
      labels: wrapVolume(c.labels, 'labels'),
      mask: c.mask && wrapVolume(c.mask, 'mask'),
      read: async (roi, labelsRoi) => {
        const s = await page.evaluate(
          async ({ id, part, index, roi, labelsRoi }) => {
            const split = (
              globalThis as unknown as { splits: Record<string, Awaited<ReturnType<typeof tz.openDataSplit>>> }
            ).splits[id]!;
            const sample = await split[part][index]!.read(roi, labelsRoi ?? roi);
            const wire = (a: ArrayLike<number | bigint>) => ({
              className: a.constructor.name,
              values: Array.from(a, String),
            });
            return {
              raw: wire(sample.raw),
              rawShape: [...sample.rawShape],
              labels: wire(sample.labels),
              labelShape: [...sample.labelShape],
              mask: wire(sample.mask),
            };
          },
          { id, part, index, roi, labelsRoi: labelsRoi ?? null },
        );
        return {
          raw: fromWire(s.raw),
          rawShape: s.rawShape,
          labels: fromWire(s.labels),
          labelShape: s.labelShape,
          mask: fromWire(s.mask),
        };
      },
    };
  };
  return {
    train: meta.train.map((c, i) => wrapCrop(c, 'train', i)),
    test: meta.test.map((c, i) => wrapCrop(c, 'test', i)),
  };
}
