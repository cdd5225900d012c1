/**
 * World-coordinate metadata of one level of an OME-NGFF `multiscales` group (0.4 in the
 * attributes, 0.5 under `ome`): scale and translation transforms, axes with `type: channel`.
 */
import { DataFormatError } from '../../errors.js';
import { type Attrs, isChannelAxisName, type SpatialMetadata, type Where } from './funlib.js';
import { gridOffset } from './grid.js';

export interface MultiscaleLevel {
  /** Path of the level's array relative to the multiscale group. */
  datasetPath: string;
  metadata: SpatialMetadata;
}

export function hasMultiscales(attrs: Attrs): boolean {
  return Array.isArray(attrs['multiscales']) || Array.isArray((attrs['ome'] as Attrs | undefined)?.['multiscales']);
}

/** The `multiscales` entry of OME-NGFF 0.4 (in the attributes) or 0.5 (under `ome`). */
function omeMultiscale(attrs: Attrs, where: Where): Attrs {
  const multiscales = (attrs['multiscales'] ?? (attrs['ome'] as Attrs | undefined)?.['multiscales']) as Attrs[];
  const ms = multiscales[0];
  if (!ms || !Array.isArray(ms['datasets']) || ms['datasets'].length === 0) {
    throw new DataFormatError('has no datasets', { ...where, attribute: 'multiscales' });
  }
  return ms;
}

/** Every level's dataset path, in order; its metadata is read when asked for (a broken level fails only then). */
export function omeLevels(attrs: Attrs, where: Where): { path: string; metadata: () => SpatialMetadata }[] {
  const ms = omeMultiscale(attrs, where);
  return (ms['datasets'] as Attrs[]).map((dataset) => ({
    path: String(dataset['path']),
    metadata: () => omeLevelMetadata(ms, dataset, where),
  }));
}

/** OME-NGFF `multiscales` (0.4 in the attributes, 0.5 under `ome`): scale and translation of one level. */
export function readMultiscales(attrs: Attrs, level: number | string, where: Where): MultiscaleLevel {
  const levels = omeLevels(attrs, where);
  const found = typeof level === 'number' ? levels[level] : levels.find((l) => l.path === level);
  if (!found) {
    throw new DataFormatError(
      `has no level ${JSON.stringify(level)} (levels: ${levels.map((l) => l.path).join(', ')})`,
      { ...where, attribute: 'multiscales' },
    );
  }
  return { datasetPath: found.path, metadata: found.metadata() };
}

function omeLevelMetadata(ms: Attrs, dataset: Attrs, where: Where): SpatialMetadata {
  const fail = (msg: string): never => {
    throw new DataFormatError(msg, { ...where, attribute: 'multiscales' });
  };
  const axes = (ms['axes'] ?? []) as (Attrs | string)[];
  const ndim = axes.length;
  if (ndim === 0) fail('has no axes');
  const axisNames = axes.map((a) => {
    if (typeof a === 'string') return a;
    const name = String(a['name']);
    return a['type'] === 'channel' && !isChannelAxisName(name) ? `${name}^` : name;
  });
  const isSpatial = axes.map((a, i) =>
    typeof a === 'string'
      ? !isChannelAxisName(a)
      : a['type'] !== 'channel' && a['type'] !== 'time' && !isChannelAxisName(axisNames[i]!),
  );
  const channelCount = isSpatial.filter((s) => !s).length;
  if (channelCount > 1) fail(`names ${channelCount} non-spatial axes; at most one channel axis is supported`);

  let scale = new Array<number>(ndim).fill(1);
  let translation = new Array<number>(ndim).fill(0);
  const apply = (transforms: unknown) => {
    for (const t of (transforms ?? []) as Attrs[]) {
      if (t['type'] === 'scale') {
        const s = t['scale'] as number[];
        if (!Array.isArray(s) || s.length !== ndim)
          fail(`scale of level ${String(dataset['path'])} has the wrong length`);
        translation = translation.map((tr, i) => tr * s[i]!);
        scale = scale.map((v, i) => v * s[i]!);
      } else if (t['type'] === 'translation') {
        const tr = t['translation'] as number[];
        if (!Array.isArray(tr) || tr.length !== ndim)
          fail(`translation of level ${String(dataset['path'])} has the wrong length`);
        translation = translation.map((v, i) => v + tr[i]!);
      }
    }
  };
  apply(dataset['coordinateTransformations']);
  apply(ms['coordinateTransformations']);

  const spatial = (v: number[]) => v.filter((_, i) => isSpatial[i]);
  const voxelSize = spatial(scale);
  voxelSize.forEach((v, i) => {
    if (!Number.isInteger(v) || v <= 0)
      fail(`scale gives voxel size [${voxelSize.join(', ')}]; axis ${i} is not a positive integer`);
  });
  const onGrid = gridOffset(
    translation.filter((_, i) => isSpatial[i]),
    voxelSize,
    'translation',
  );
  const units = axes.filter((_, i) => isSpatial[i]).map((a) => (typeof a === 'string' ? '' : String(a['unit'] ?? '')));
  const channelAxis = isSpatial.indexOf(false);
  const label = `OME-NGFF multiscales, level ${String(dataset['path'])}`;
  return {
    axisNames: axisNames.map((n, i) => (isSpatial[i] || isChannelAxisName(n) ? n : `${n}^`)),
    types: isSpatial.map((s) => (s ? 'space' : 'channel')),
    voxelSize,
    offset: onGrid.offset,
    units,
    channelAxis: channelAxis >= 0 ? channelAxis : null,
    convention: onGrid.note ? `${label}; ${onGrid.note}` : label,
  };
}
