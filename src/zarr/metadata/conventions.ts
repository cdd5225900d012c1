/**
 * An array's world metadata from the first convention its attributes follow, in this order (the
 * README's data-format section documents it):
 *
 * 1. DaCapo / funlib.persistence: `voxel_size`, `offset`, `axis_names`, `units` (`types`), read as
 *    stored, in the array's axis order, in zarr and N5 alike (as zarr-python returns them).
 * 2. gunpowder: `resolution` and `offset`; in N5 they are in N5's x-fastest order and reversed,
 *    as gunpowder's ZarrSource does.
 * 3. N5-viewer / BigDataViewer: `pixelResolution` (`{dimensions, unit}`), times
 *    `downsamplingFactors` where a downsampled dataset has them; x-fastest in N5 (reversed);
 *    offset from `offset` (reversed in N5) or 0.
 *    (2 and 3, as gunpowder reads them: without an `offset`, COSEM's `transform.translate` gives it.)
 * 4. COSEM / OpenOrganelle: `transform` (`axes`, `scale`, `translate`, `units`, and `ordering` or
 *    `order`: "C" lists follow the array's axis order, "F" lists are reversed). Translations place
 *    voxel centres: off-grid ones are read as described in grid.ts.
 * 5. funlib's defaults (offset 0, voxel size 1, units "", every axis spatial), with a warning.
 *
 * Conventions 1–3 take offsets as voxel corners: an offset that is not a multiple of the voxel
 * size is an error naming the attribute.
 */
import { DataFormatError } from '../../errors.js';
import { type Attrs, readSpatialMetadata, type SpatialMetadata, type Where } from './funlib.js';
import { gridOffset } from './grid.js';

export type ContainerFormat = 'zarr' | 'n5';

const FUNLIB = ['voxel_size', 'axis_names', 'types'];

export function readWorldMetadata(
  attrs: Attrs,
  ndim: number,
  where: Where,
  format: ContainerFormat,
  warn: (message: string) => void = console.warn,
): SpatialMetadata {
  const xFastest = format === 'n5';
  const has = (k: string) => attrs[k] !== undefined && attrs[k] !== null;
  if (FUNLIB.some(has)) return readSpatialMetadata(attrs, ndim, where, warn);
  if (has('resolution')) {
    return borrowed(ndim, where, {
      voxelSize: ordered(list(attrs, 'resolution', where), xFastest),
      voxelSizeKey: 'resolution',
      offset: has('offset') ? ordered(list(attrs, 'offset', where), xFastest) : null,
      units: null,
      convention: `gunpowder (resolution, offset${xFastest ? '; N5 order, reversed' : ''})`,
      attrs,
    });
  }
  if (has('pixelResolution')) return n5Viewer(attrs, ndim, where, xFastest);
  if (has('transform')) {
    const transform = attrs['transform'];
    if (typeof transform !== 'object' || Array.isArray(transform)) {
      throw new DataFormatError(`must be an object, got ${JSON.stringify(transform)}`, {
        ...where,
        attribute: 'transform',
      });
    }
    return cosemTransform(transform as Attrs, ndim, where, 'transform', 'COSEM transform');
  }
  return readSpatialMetadata(attrs, ndim, where, warn);
}

function list(attrs: Attrs, name: string, where: Where): unknown[] {
  const v = attrs[name];
  if (!Array.isArray(v))
    throw new DataFormatError(`must be a list, got ${JSON.stringify(v)}`, { ...where, attribute: name });
  return v;
}

const ordered = <T>(values: readonly T[], reverse: boolean): T[] => (reverse ? [...values].reverse() : [...values]);

/**
 * A convention's voxel size, offset and units, checked as funlib's attributes are (integers, one
 * per spatial axis, the offset on the voxel grid; leading axes beyond them are channels); errors
 * name the convention's own attributes.
 */
function borrowed(
  ndim: number,
  where: Where,
  given: {
    voxelSize: unknown[];
    voxelSizeKey: string;
    offset: unknown[] | null;
    units: string[] | null;
    convention: string;
    /** The array's attributes: without an `offset`, COSEM's `transform.translate` gives it (as gunpowder reads it). */
    attrs: Attrs;
  },
): SpatialMetadata {
  const spatial = given.voxelSize.length;
  let offset = given.offset;
  let convention = given.convention;
  const transform = given.attrs['transform'];
  if (!offset && transform && typeof transform === 'object' && !Array.isArray(transform)) {
    const t = transform as Attrs;
    const translate = t['translate'];
    if (
      Array.isArray(translate) &&
      translate.length === spatial &&
      given.voxelSize.every((v) => typeof v === 'number')
    ) {
      const inOrder = ordered(translate as number[], (t['ordering'] ?? t['order']) === 'F');
      const onGrid = gridOffset(inOrder, given.voxelSize as number[], 'transform.translate');
      offset = onGrid.offset;
      convention = `${convention}, offset from COSEM's transform.translate${onGrid.note ? `; ${onGrid.note}` : ''}`;
    }
  }
  const funlib: Attrs = {
    voxel_size: given.voxelSize,
    offset: offset ?? new Array(spatial).fill(0),
    units: given.units ?? new Array(spatial).fill(''),
  };
  const names = { voxel_size: given.voxelSizeKey };
  return { ...readSpatialMetadata(funlib, ndim, where, () => {}, names), convention };
}

/** N5-viewer's `pixelResolution` (an object `{dimensions, unit}`, or a bare list), with `downsamplingFactors`. */
function n5Viewer(attrs: Attrs, ndim: number, where: Where, xFastest: boolean): SpatialMetadata {
  const pr = attrs['pixelResolution'] as Attrs | unknown[];
  const dims = Array.isArray(pr) ? pr : (pr as Attrs)['dimensions'];
  if (!Array.isArray(dims)) {
    throw new DataFormatError(`must be {dimensions, unit} or a list, got ${JSON.stringify(pr)}`, {
      ...where,
      attribute: 'pixelResolution',
    });
  }
  const factors = attrs['downsamplingFactors'];
  let voxelSize: unknown[] = dims;
  if (Array.isArray(factors)) {
    if (factors.length !== dims.length) {
      throw new DataFormatError(`has ${factors.length} entries, pixelResolution ${dims.length}`, {
        ...where,
        attribute: 'downsamplingFactors',
      });
    }
    voxelSize = dims.map((d, i) => (d as number) * (factors[i] as number));
  }
  const unit = Array.isArray(pr) ? '' : String((pr as Attrs)['unit'] ?? '');
  const has = (k: string) => attrs[k] !== undefined && attrs[k] !== null;
  return borrowed(ndim, where, {
    voxelSize: ordered(voxelSize, xFastest),
    voxelSizeKey: 'pixelResolution',
    offset: has('offset') ? ordered(list(attrs, 'offset', where), xFastest) : null,
    units: new Array<string>(dims.length).fill(unit),
    attrs,
    convention: `N5-viewer (pixelResolution${Array.isArray(factors) ? ' × downsamplingFactors' : ''}${xFastest ? '; N5 order, reversed' : ''})`,
  });
}

/**
 * COSEM's `transform` (an array's own, or a COSEM multiscale level's): `axes`, `scale`,
 * `translate`, `units` in the order `ordering` (or `order`) says, "C" by default.
 */
export function cosemTransform(t: Attrs, ndim: number, where: Where, attribute: string, name: string): SpatialMetadata {
  const fail = (message: string): never => {
    throw new DataFormatError(message, { ...where, attribute });
  };
  const ordering = t['ordering'] ?? t['order'] ?? 'C';
  if (ordering !== 'C' && ordering !== 'F') fail(`ordering must be "C" or "F", got ${JSON.stringify(ordering)}`);
  const reverse = ordering === 'F';
  const field = (name: string, required: boolean): unknown[] | null => {
    const v = t[name];
    if (v === undefined || v === null) return required ? fail(`has no ${name}`) : null;
    if (!Array.isArray(v) || v.length !== ndim) {
      fail(`${name} ${JSON.stringify(v)} must be a list of ${ndim} entries (one per axis of the array)`);
    }
    return ordered(v as unknown[], reverse);
  };
  const scale = field('scale', true)!;
  const translate = field('translate', false) ?? new Array(ndim).fill(0);
  const axes = (field('axes', false) ?? defaultNames(ndim)).map(String);
  const units = (field('units', false) ?? new Array(ndim).fill('')).map((u) => String(u ?? ''));
  scale.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      fail(
        `scale [${scale.join(', ')}]: axis ${axes[i]} (${JSON.stringify(v)}) is not a positive integer; tfjs-zarr ` +
          'needs integer voxel sizes in the stored units',
      );
    }
  });
  translate.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`translate: axis ${axes[i]} is not a number`);
  });
  const voxelSize = scale as number[];
  const onGrid = gridOffset(translate as number[], voxelSize, 'translate');
  const label = `${name} (axes [${axes.join(', ')}], ordering ${ordering})`;
  return {
    axisNames: axes,
    types: axes.map(() => 'space'),
    voxelSize,
    offset: onGrid.offset,
    units,
    channelAxis: null,
    convention: onGrid.note ? `${label}; ${onGrid.note}` : label,
  };
}

function defaultNames(n: number): string[] {
  return n <= 3 ? ['z', 'y', 'x'].slice(3 - n) : Array.from({ length: n }, (_, i) => `d${i}`);
}
