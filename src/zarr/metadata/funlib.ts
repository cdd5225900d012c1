/**
 * World-coordinate metadata of an array from funlib.persistence's attributes (`voxel_size`,
 * `offset`, `axis_names`, `units`, and since funlib.persistence 0.6 `types`). Pure functions over
 * parsed attributes.
 */
import { DataFormatError } from '../../errors.js';

/** funlib.persistence's axis types (`types` attribute); 'time' is refused when read. */
export type AxisType = 'space' | 'channel';

export interface SpatialMetadata {
  /** One name per stored axis, as stored (a channel axis named by `types` needs no `^`). */
  axisNames: string[];
  /** One type per stored axis: from `types` where present, else from `^` in the names. */
  types: AxisType[];
  /** Spatial axes only. */
  voxelSize: number[];
  offset: number[];
  units: string[];
  /** Index of the channel axis among the stored axes, or null. */
  channelAxis: number | null;
  /** Where these came from (the convention read), for `inspect`: e.g. "funlib (voxel_size, offset, axis_names, units)". */
  convention: string;
}

export interface Where {
  container: string;
  path: string;
}

export type Attrs = Record<string, unknown>;

export function isChannelAxisName(name: string): boolean {
  return name.includes('^');
}

/**
 * Reads funlib.persistence's attributes. Missing ones take its defaults (offset 0, voxel size 1,
 * units "", every axis spatial unless voxel_size/offset say fewer), reported through `warn`.
 */
export function readSpatialMetadata(
  attrs: Attrs,
  ndim: number,
  where: Where,
  warn: (message: string) => void = console.warn,
  /** The attribute names to report in errors, where the values came from another convention's keys. */
  names: Partial<Record<'voxel_size' | 'offset', string>> = {},
): SpatialMetadata {
  const as = (key: 'voxel_size' | 'offset') => names[key] ?? key;
  const axisNamesAttr = optionalArray(attrs, 'axis_names', where);
  const voxelSizeAttr = optionalArray(attrs, 'voxel_size', where);
  const offsetAttr = optionalArray(attrs, 'offset', where);
  const unitsAttr = optionalArray(attrs, 'units', where);
  const typesAttr = optionalArray(attrs, 'types', where);
  const types = typesAttr ? axisTypes(typesAttr, ndim, where) : null;

  const axisNames = axisNamesOf(
    { axisNamesAttr, types, spatialHint: voxelSizeAttr ?? offsetAttr ?? unitsAttr },
    ndim,
    where,
    () => (voxelSizeAttr ? as('voxel_size') : offsetAttr ? as('offset') : 'units'),
  );

  // `types`, where present, decides which axes are spatial (funlib.persistence ≥ 0.6); else a `^` in the name.
  const typeOf: AxisType[] = types ?? axisNames.map((n) => (isChannelAxisName(n) ? 'channel' : 'space'));
  const channelAxes = typeOf.flatMap((t, i) => (t === 'channel' ? [i] : []));
  if (channelAxes.length > 1) {
    throw new DataFormatError(
      `names ${channelAxes.length} non-spatial axes (${channelAxes.map((i) => axisNames[i]).join(', ')}); ` +
        'at most one channel axis is supported',
      { ...where, attribute: types ? 'types' : 'axis_names' },
    );
  }
  const spatialDims = ndim - channelAxes.length;

  const voxelSize = voxelSizeAttr
    ? integers(voxelSizeAttr, spatialDims, where, as('voxel_size'), (v) => v > 0, 'a positive integer')
    : new Array<number>(spatialDims).fill(1);
  const offset = offsetAttr
    ? integers(offsetAttr, spatialDims, where, as('offset'), () => true, 'an integer')
    : new Array<number>(spatialDims).fill(0);
  offset.forEach((o, i) => {
    if (o % voxelSize[i]! !== 0) {
      throw new DataFormatError(
        `[${offset.join(', ')}] is not a multiple of the voxel size [${voxelSize.join(', ')}] (axis ${i})`,
        { ...where, attribute: as('offset') },
      );
    }
  });
  const units = unitsOf(unitsAttr, spatialDims, where);

  const missing = [
    !voxelSizeAttr && 'voxel_size',
    !offsetAttr && 'offset',
    !axisNamesAttr && 'axis_names',
    !unitsAttr && 'units',
  ].filter(Boolean);
  if (missing.length > 0) {
    warn(
      `tfjs-zarr: ${where.container}, array ${where.path}: missing ${missing.join(', ')}; ` +
        `using defaults (voxel size [${voxelSize.join(', ')}], offset [${offset.join(', ')}], ` +
        `axes [${axisNames.join(', ')}])`,
    );
  }
  const present = ['voxel_size', 'offset', 'axis_names', 'units', 'types'].filter((k) => attrs[k] != null);
  return {
    axisNames,
    types: typeOf,
    voxelSize,
    offset,
    units,
    channelAxis: channelAxes.length === 1 ? channelAxes[0]! : null,
    convention: present.length ? `funlib (${present.join(', ')})` : 'defaults (no world metadata)',
  };
}

/**
 * The axis names: as stored, else from `types` (spatial axes z, y, x; channels c0^...), else
 * funlib's: the spatial axes are the trailing ones, as many as voxel_size / offset / units have
 * entries (`hintAttribute` names the one that says so, for errors).
 */
function axisNamesOf(
  given: { axisNamesAttr: unknown[] | null; types: AxisType[] | null; spatialHint: unknown[] | null },
  ndim: number,
  where: Where,
  hintAttribute: () => string,
): string[] {
  const { axisNamesAttr, types } = given;
  if (axisNamesAttr) {
    if (axisNamesAttr.length !== ndim) {
      throw new DataFormatError(`has ${axisNamesAttr.length} entries but the array has ${ndim} axes`, {
        ...where,
        attribute: 'axis_names',
      });
    }
    return axisNamesAttr.map((n, i) => {
      if (typeof n !== 'string') {
        throw new DataFormatError(`entry ${i} is not a string`, { ...where, attribute: 'axis_names' });
      }
      return n;
    });
  }
  if (types) {
    const spatialNames = defaultSpatialNames(types.filter((t) => t === 'space').length);
    let s = 0;
    let c = 0;
    return types.map((t) => (t === 'space' ? spatialNames[s++]! : `c${c++}^`));
  }
  const spatialDims = given.spatialHint?.length ?? ndim;
  if (spatialDims > ndim) {
    throw new DataFormatError(`has ${spatialDims} entries but the array has only ${ndim} axes`, {
      ...where,
      attribute: hintAttribute(),
    });
  }
  return [...Array.from({ length: ndim - spatialDims }, (_, i) => `c${i}^`), ...defaultSpatialNames(spatialDims)];
}

function unitsOf(unitsAttr: unknown[] | null, spatialDims: number, where: Where): string[] {
  if (!unitsAttr) return new Array<string>(spatialDims).fill('');
  if (unitsAttr.length !== spatialDims) {
    throw new DataFormatError(`has ${unitsAttr.length} entries but the array has ${spatialDims} spatial axes`, {
      ...where,
      attribute: 'units',
    });
  }
  return unitsAttr.map((u) => String(u ?? ''));
}

/** funlib's `types`: one of 'space' / 'channel' per axis; a 'time' axis is not supported (yet). */
function axisTypes(values: unknown[], ndim: number, where: Where): AxisType[] {
  const at = { ...where, attribute: 'types' };
  if (values.length !== ndim) {
    throw new DataFormatError(
      `has ${values.length} entries ${JSON.stringify(values)} but the array has ${ndim} axes`,
      at,
    );
  }
  return values.map((t, i) => {
    if (t === 'space' || t === 'channel') return t;
    if (t === 'time') {
      throw new DataFormatError(
        `axis ${i} is a time axis (${JSON.stringify(values)}); tfjs-zarr reads space and channel axes only`,
        at,
      );
    }
    throw new DataFormatError(`entry ${i} (${JSON.stringify(t)}) is not one of "space", "channel", "time"`, at);
  });
}

function defaultSpatialNames(n: number): string[] {
  const names = ['z', 'y', 'x'];
  return n <= 3 ? names.slice(3 - n) : Array.from({ length: n }, (_, i) => `d${i}`);
}

function optionalArray(attrs: Attrs, name: string, where: Where): unknown[] | null {
  const v = attrs[name];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    throw new DataFormatError(`must be a list, got ${JSON.stringify(v)}`, { ...where, attribute: name });
  }
  return v;
}

function integers(
  values: unknown[],
  length: number,
  where: Where,
  attribute: string,
  ok: (v: number) => boolean,
  expected: string,
): number[] {
  if (values.length !== length) {
    throw new DataFormatError(
      `has ${values.length} entries [${values.join(', ')}] but the array has ${length} spatial axes`,
      { ...where, attribute },
    );
  }
  return values.map((v, i) => {
    // Safe integers only: a value beyond 2^53 has already been rounded by JSON parsing.
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || !ok(v)) {
      const unsafe = typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);
      const why = unsafe ? ' (beyond 2^53, so not exact)' : '';
      throw new DataFormatError(`[${values.join(', ')}]: entry ${i} (${JSON.stringify(v)}) is not ${expected}${why}`, {
        ...where,
        attribute,
      });
    }
    return v;
  });
}
