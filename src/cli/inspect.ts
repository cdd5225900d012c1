/**
 * `tfjs-zarr inspect <path|url|file.zip>`: the data split as the library sees it — per crop its
 * arrays, dtype, shape, voxel size, offset, world ROI, mask, and the raw normalization.
 */
import { parseArgs } from 'node:util';
import { roiToString } from '../roi.js';
import type { CropVolume, ZarrCrop } from '../zarr/crop.js';
import { ResampledVolume } from '../zarr/resample.js';
import { openDataSplit } from '../zarr/split.js';
import { UsageError } from './usage.js';

export const summary = 'list the train and test crops of a DaCapo-style zarr or N5 container';

export const usage = `usage: tfjs-zarr inspect <path|url|s3://...|gs://...|file.zip> [--raw NAME] [--labels NAME] [--mask NAME]
                         [--train NAME] [--test NAME] [--resample raw|labels]
                         [--level NAME|INDEX] [--voxel-size Z,Y,X] [--raw-voxel-size Z,Y,X]

  List the train and test crops of a DaCapo-style zarr or N5 container: per crop its arrays,
  dtype, shape, axes and their types (space/channel), voxel size, offset, world ROI, the metadata
  convention they were read from, mask, and the raw normalization; where raw and labels differ in
  voxel size, the grid samples are drawn on.
  --resample raw|labels shows the crops as DataConfig's resample sees them (labels at raw's voxel
  size, or raw at the labels').
  --level, --voxel-size (every array) and --raw-voxel-size (raw only) pick the level of multiscale
  groups, as DataConfig's level and voxelSize do.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      raw: { type: 'string' },
      labels: { type: 'string' },
      mask: { type: 'string' },
      train: { type: 'string' },
      test: { type: 'string' },
      resample: { type: 'string' },
      level: { type: 'string' },
      'voxel-size': { type: 'string' },
      'raw-voxel-size': { type: 'string' },
    },
  });
  const sizes = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const v = text.split(',').map(Number);
    if (!v.every((n) => Number.isInteger(n) && n > 0))
      throw new UsageError(`${flag} must be integers like 8,8,8, got ${text}`);
    return v;
  };
  const all = sizes('--voxel-size', values['voxel-size']);
  const raw = sizes('--raw-voxel-size', values['raw-voxel-size']);
  const level =
    values.level === undefined ? undefined : /^\d+$/.test(values.level) ? Number(values.level) : values.level;
  if (values.resample !== undefined && values.resample !== 'raw' && values.resample !== 'labels') {
    throw new UsageError(`--resample must be raw or labels, got ${values.resample}`);
  }
  const target = positionals[0];
  if (!target || positionals.length > 1) throw new UsageError('inspect takes one container path or URL');
  const split = await openDataSplit({
    path: target,
    rawName: values.raw,
    gtName: values.labels,
    maskName: values.mask,
    trainGroupName: values.train,
    validateGroupName: values.test,
    resample: values.resample as 'raw' | 'labels' | undefined,
    level,
    voxelSize: raw ? { raw, labels: all, mask: all } : all,
  });
  console.log(`${target}  (${split.format === 'n5' ? 'N5' : 'zarr'}, ${split.layout} layout)`);
  if (split.layout === 'simple') {
    console.log('train = test (simple layout: one crop)');
    console.log(describeCrop(split.train[0]!));
  } else {
    console.log(`train: ${split.train.length} crop(s)`);
    for (const c of split.train) console.log(describeCrop(c));
    console.log(`test: ${split.test.length} crop(s)`);
    for (const c of split.test) console.log(describeCrop(c));
  }
  return 0;
}

function describeVolume(role: string, v: CropVolume): string[] {
  const resampled =
    v instanceof ResampledVolume
      ? [
          `            resampled from voxel size [${v.source.voxelSize.join(', ')}] (${v.interpolation}), ` +
            `stored shape [${v.source.shape.join(', ')}]`,
        ]
      : [];
  return [
    `    ${role.padEnd(7)} ${v.path}  ${v.dtype}  shape [${v.shape.join(', ')}]  axes [${v.axisNames.join(', ')}]` +
      `  types [${v.types.join(', ')}]`,
    `            voxel size [${v.voxelSize.join(', ')}]${unitsOf(v)}  offset [${v.offset.join(', ')}]  ` +
      `chunks [${v.chunks.join(', ')}]`,
    `            ROI ${roiToString(v.roi)}`,
    `            metadata: ${v.convention}`,
    ...resampled,
  ];
}

function unitsOf(v: CropVolume): string {
  const units = [...new Set(v.units.filter((u) => u))];
  return units.length ? ` ${units.join('/')}` : '';
}

function describeCrop(crop: ZarrCrop): string {
  return [
    `  ${crop.name}`,
    ...describeVolume('raw', crop.raw),
    `            normalization: ${crop.normalization.description}`,
    ...describeVolume('labels', crop.labels),
    ...(crop.mask
      ? describeVolume('mask', crop.mask)
      : ["    mask    none (every voxel inside the labels' ROI is known)"]),
    ...(crop.raw.voxelSize.some((v, i) => v !== crop.voxelSize[i])
      ? [
          `    grid    raw at [${crop.raw.voxelSize.join(', ')}], labels at [${crop.voxelSize.join(', ')}]: ` +
            `samples centred on the [${crop.grid.join(', ')}] grid`,
        ]
      : []),
  ].join('\n');
}
