#!/usr/bin/env node
/**
 * tfjs-zarr command line: `tfjs-zarr inspect <path|url>` prints the data split as the library
 * sees it. Bad data exits non-zero with the same message the API raises.
 */
import { openDataSplit } from './split.js';
import { roiToString } from './roi.js';
import type { ZarrCrop } from './crop.js';
import type { ZarrVolume } from './volume.js';

const USAGE = `usage: tfjs-zarr inspect <path|url|file.zip> [--raw NAME] [--labels NAME] [--mask NAME]
                         [--train NAME] [--test NAME]

  inspect   list the train and test crops of a DaCapo-style zarr container: per crop its arrays,
            dtype, shape, voxel size, offset, world ROI, mask, and the raw normalization.`;

function describeVolume(role: string, v: ZarrVolume): string[] {
  return [
    `    ${role.padEnd(7)} ${v.path}  ${v.dtype}  shape [${v.shape.join(', ')}]  axes [${v.axisNames.join(', ')}]`,
    `            voxel size [${v.voxelSize.join(', ')}]${unitsOf(v)}  offset [${v.offset.join(', ')}]  ` +
      `chunks [${v.chunks.join(', ')}]`,
    `            ROI ${roiToString(v.roi)}`,
  ];
}

function unitsOf(v: ZarrVolume): string {
  const units = [...new Set(v.units.filter((u) => u))];
  return units.length ? ` ${units.join('/')}` : '';
}

function describeCrop(crop: ZarrCrop): string {
  return [
    `  ${crop.name}`,
    ...describeVolume('raw', crop.raw),
    `            normalization: ${crop.normalization.description}`,
    ...describeVolume('labels', crop.labels),
    ...(crop.mask ? describeVolume('mask', crop.mask) : ['    mask    none (every voxel inside the labels\' ROI is known)']),
  ].join('\n');
}

function parseArgs(argv: string[]): { command?: string; target?: string; options: Record<string, string> } {
  const options: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) options[a.slice(2)] = argv[++i] ?? '';
    else positional.push(a);
  }
  return { command: positional[0], target: positional[1], options };
}

async function main(argv: string[]): Promise<number> {
  const { command, target, options } = parseArgs(argv);
  if (command === undefined || command === 'help' || options['help'] !== undefined) {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'inspect' || !target) {
    console.error(USAGE);
    return 2;
  }
  const split = await openDataSplit({
    path: target,
    rawName: options['raw'],
    gtName: options['labels'],
    maskName: options['mask'],
    trainGroupName: options['train'],
    validateGroupName: options['test'],
  });
  console.log(`${target}  (${split.layout} layout)`);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`tfjs-zarr: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
