/**
 * World-coordinate metadata of one level of an OME-NGFF `multiscales` group (0.4 in the
 * attributes, 0.5 under `ome`): scale and translation transforms, axes with `type: channel`.
 */
import { DataFormatError } from '../../errors.js';
import { type Attrs, isChannelAxisName, type SpatialMetadata, type Where } from './funlib.js';

export interface MultiscaleLevel {
  /** Path of the level's array relative to the multiscale group. */
  datasetPath: string;
  metadata: SpatialMetadata;
}

export function hasMultiscales(attrs: Attrs): boolean {
  return Array.isArray(attrs['multiscales']) || Array.isArray((attrs['ome'] as Attrs | undefined)?.['multiscales']);
}

/** OME-NGFF `multiscales` (0.4 in the attributes, 0.5 under `ome`): scale and translation of one level. */
export function readMultiscales(attrs: Attrs, level: number | string, where: Where): MultiscaleLevel {
  const multiscales = (attrs['multiscales'] ?? (attrs['ome'] as Attrs | undefined)?.['multiscales']) as Attrs[];
  const ms = multiscales[0];
  const fail = (msg: string): never => {
    throw new DataFormatError(msg, { ...where, attribute: 'multiscales' });
  };
  if (!ms || !Array.isArray(ms['datasets']) || ms['datasets'].length === 0) fail('has no datasets');
  const axes = (ms!['axes'] ?? []) as (Attrs | string)[];
  const datasets = ms!['datasets'] as Attrs[];
  const dataset = typeof level === 'number' ? datasets[level] : datasets.find((d) => d['path'] === level);
  if (!dataset) fail(`has no level ${JSON.stringify(level)} (levels: ${datasets.map((d) => d['path']).join(', ')})`);
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
          fail(`scale of level ${String(dataset!['path'])} has the wrong length`);
        translation = translation.map((tr, i) => tr * s[i]!);
        scale = scale.map((v, i) => v * s[i]!);
      } else if (t['type'] === 'translation') {
        const tr = t['translation'] as number[];
        if (!Array.isArray(tr) || tr.length !== ndim)
          fail(`translation of level ${String(dataset!['path'])} has the wrong length`);
        translation = translation.map((v, i) => v + tr[i]!);
      }
    }
  };
  apply(dataset!['coordinateTransformations']);
  apply(ms!['coordinateTransformations']);

  const spatial = (v: number[]) => v.filter((_, i) => isSpatial[i]);
  const voxelSize = spatial(scale);
  const offset = spatial(translation);
  voxelSize.forEach((v, i) => {
    if (!Number.isInteger(v) || v <= 0)
      fail(`scale gives voxel size [${voxelSize.join(', ')}]; axis ${i} is not a positive integer`);
  });
  offset.forEach((o, i) => {
    if (!Number.isInteger(o) || o % voxelSize[i]! !== 0) {
      fail(
        `translation gives offset [${offset.join(', ')}], not a multiple of the voxel size [${voxelSize.join(', ')}]`,
      );
    }
  });
  const units = axes.filter((_, i) => isSpatial[i]).map((a) => (typeof a === 'string' ? '' : String(a['unit'] ?? '')));
  const channelAxis = isSpatial.indexOf(false);
  return {
    datasetPath: String(dataset!['path']),
    metadata: {
      axisNames: axisNames.map((n, i) => (isSpatial[i] || isChannelAxisName(n) ? n : `${n}^`)),
      types: isSpatial.map((s) => (s ? 'space' : 'channel')),
      voxelSize,
      offset,
      units,
      channelAxis: channelAxis >= 0 ? channelAxis : null,
      convention: `OME-NGFF multiscales, level ${String(dataset!['path'])}`,
    },
  };
}
