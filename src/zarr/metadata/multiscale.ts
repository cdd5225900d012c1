/**
 * Multiscale groups used as raw, labels or mask: OME-NGFF (`multiscales` with
 * `coordinateTransformations`), COSEM / OpenOrganelle (`multiscales` whose datasets carry a
 * `transform`) and Neuroglancer's N5 layout (`scales`, per level, with `resolution` or
 * `pixelResolution`, `axes` and `units` on the group, x-fastest; levels `s0`, `s1`, ...). A level
 * is chosen by index or path (`level`) or by its voxel size (`voxelSize`).
 */
import { DataFormatError } from '../../errors.js';
import { cosemTransform } from './conventions.js';
import type { Attrs, SpatialMetadata, Where } from './funlib.js';
import { omeLevels } from './ome.js';

export type MultiscaleKind = 'OME-NGFF' | 'COSEM' | 'Neuroglancer N5';

export interface ScaleLevel {
  /** Path of the level's array, relative to the group. */
  path: string;
  /** Its world metadata (read when asked: a broken level fails only when used). */
  metadata(): SpatialMetadata;
}

const isObject = (v: unknown): v is Attrs => typeof v === 'object' && v !== null && !Array.isArray(v);

export function multiscaleKind(attrs: Attrs): MultiscaleKind | null {
  const ms = (attrs['multiscales'] ?? (attrs['ome'] as Attrs | undefined)?.['multiscales']) as unknown;
  if (Array.isArray(ms)) {
    const datasets = (ms[0] as Attrs | undefined)?.['datasets'];
    const cosem =
      Array.isArray(datasets) && datasets.length > 0 && datasets.every((d) => isObject(d) && 'transform' in d);
    return cosem ? 'COSEM' : 'OME-NGFF';
  }
  if (Array.isArray(attrs['scales']) && (attrs['resolution'] != null || attrs['pixelResolution'] != null)) {
    return 'Neuroglancer N5';
  }
  return null;
}

export function multiscaleLevels(attrs: Attrs, where: Where): ScaleLevel[] {
  const kind = multiscaleKind(attrs);
  if (kind === 'OME-NGFF') return omeLevels(attrs, where);
  if (kind === 'COSEM') return cosemLevels(attrs, where);
  if (kind === 'Neuroglancer N5') return neuroglancerLevels(attrs, where);
  throw new DataFormatError('is a group without multiscale metadata', where);
}

/** COSEM: `multiscales[0].datasets[i] = {path, transform: {axes, scale, translate, units, ordering}}`. */
function cosemLevels(attrs: Attrs, where: Where): ScaleLevel[] {
  const datasets = ((attrs['multiscales'] as Attrs[])[0]!['datasets'] as Attrs[]) ?? [];
  return datasets.map((d) => {
    const t = d['transform'] as Attrs;
    const path = String(d['path']);
    return {
      path,
      metadata: () => {
        const ndim = Array.isArray(t['scale']) ? t['scale'].length : 0;
        return cosemTransform(t, ndim, where, 'multiscales', `COSEM multiscales, level ${path}`);
      },
    };
  });
}

/**
 * Neuroglancer's N5 multiscale group: level i is `s<i>` with voxel size resolution × scales[i]
 * (x-fastest, reversed into the arrays' order), offset 0 (or the group's `offset`, reversed).
 */
function neuroglancerLevels(attrs: Attrs, where: Where): ScaleLevel[] {
  const fail = (attribute: string, message: string): never => {
    throw new DataFormatError(message, { ...where, attribute });
  };
  const scales = attrs['scales'] as unknown[];
  const pr = attrs['pixelResolution'];
  const resolution = (attrs['resolution'] ?? (isObject(pr) ? pr['dimensions'] : pr)) as unknown;
  const unit = isObject(pr) ? String(pr['unit'] ?? '') : '';
  return scales.map((factors, i) => ({
    path: `s${i}`,
    metadata: (): SpatialMetadata => {
      if (!Array.isArray(resolution)) return fail('resolution', `must be a list, got ${JSON.stringify(resolution)}`);
      const n = resolution.length;
      if (!Array.isArray(factors) || factors.length !== n) {
        return fail('scales', `entry ${i} ${JSON.stringify(factors)} must be a list of ${n} factors`);
      }
      const voxelSize = resolution.map((r, k) => (r as number) * (factors[k] as number)).reverse();
      voxelSize.forEach((v, k) => {
        if (!Number.isInteger(v) || v <= 0) {
          fail('scales', `level s${i}: voxel size [${voxelSize.join(', ')}], axis ${k} is not a positive integer`);
        }
      });
      const axes = Array.isArray(attrs['axes']) ? (attrs['axes'] as unknown[]).map(String).reverse() : null;
      const units = Array.isArray(attrs['units']) ? (attrs['units'] as unknown[]).map(String).reverse() : null;
      const offset = Array.isArray(attrs['offset'])
        ? (attrs['offset'] as number[]).slice().reverse()
        : new Array(n).fill(0);
      offset.forEach((o, k) => {
        if (!Number.isInteger(o) || o % voxelSize[k]! !== 0) {
          fail(
            'offset',
            `[${offset.join(', ')}] is not a multiple of level s${i}'s voxel size [${voxelSize.join(', ')}]`,
          );
        }
      });
      return {
        axisNames: axes ?? ['z', 'y', 'x'].slice(3 - n),
        types: voxelSize.map(() => 'space'),
        voxelSize,
        offset,
        units: units ?? new Array<string>(n).fill(unit),
        channelAxis: null,
        convention: `Neuroglancer N5 multiscale (scales × ${attrs['resolution'] != null ? 'resolution' : 'pixelResolution'}; N5 order, reversed), level s${i}`,
      };
    },
  }));
}

/** Which level to read: by voxel size when one is given, else by index or path. */
export interface LevelChoice {
  level: number | string;
  voxelSize: readonly number[] | null;
}

export function pickLevel(
  levels: ScaleLevel[],
  choice: LevelChoice,
  where: Where,
): { path: string; metadata: SpatialMetadata } {
  const at = { ...where, attribute: 'multiscales' };
  if (choice.voxelSize) {
    const want = choice.voxelSize;
    const sized = levels.map((l) => ({ path: l.path, metadata: l.metadata() }));
    const found = sized.find(
      (l) => l.metadata.voxelSize.length === want.length && l.metadata.voxelSize.every((v, i) => v === want[i]),
    );
    if (!found) {
      const list = sized.map((l) => `${l.path} [${l.metadata.voxelSize.join(', ')}]`).join(', ');
      throw new DataFormatError(`has no level with voxel size [${want.join(', ')}] (levels: ${list})`, at);
    }
    return found;
  }
  const level = choice.level;
  const found = typeof level === 'number' ? levels[level] : levels.find((l) => l.path === level);
  if (!found) {
    throw new DataFormatError(
      `has no level ${JSON.stringify(level)} (levels: ${levels.map((l) => l.path).join(', ')})`,
      at,
    );
  }
  return { path: found.path, metadata: found.metadata() };
}
