/**
 * `tfjs-zarr segment`: a written prediction → a uint64 segmentation, blockwise and exact (see
 * src/apply/segment.ts for the label / join / write phases).
 */
import { parseArgs } from 'node:util';
import { openArray } from '../apply/open.js';
import {
  type SegmentMethod,
  type SegmentPhase,
  type SegmentResult,
  type SegmentVolumeOptions,
  segmentVolume,
} from '../apply/segment.js';
import {
  BLOCKWISE_OPTIONS,
  BLOCKWISE_USAGE,
  blockwiseOptions,
  integerOption,
  numberOption,
  progressFeed,
  runProcesses,
  describeSlot,
} from './apply-options.js';
import { UsageError } from './usage.js';

export const summary = 'turn a prediction into a uint64 segmentation, blockwise and exact';

export const usage = `usage: tfjs-zarr segment --input OUT.zarr/prediction --output OUT.zarr/segmentation [options]

  Labels every block alone, joins the blocks across their faces (union-find) and writes uint64
  ids: the same segmentation (up to a renaming of ids) as post-processing the whole volume at once.
  Method and threshold come from the options, else from the checkpoint the prediction was made
  with (recorded by \`tfjs-zarr predict\`), else boundary / 0.5.

  --method M           boundary (components of channel 0 > threshold), affinities (components of
                       the affinity graph), semantic (argmax over channels) or watershed (seeded
                       watershed of channel 0 from its components above the threshold; seeds
                       exact, the flood of each block sees its neighbours up to --halo voxels:
                       not blockwise-exact)
  --threshold T        threshold for boundary and affinities; the seeds' threshold for watershed
  --mask-threshold T   watershed: flood only where channel 0 > T (distance predictions: 0)
  --halo N             watershed: voxels of the neighbouring blocks a block's flood sees (default: half a block)
  --offsets LIST       affinity offsets, one z,y,x per channel: "-1,0,0;0,-1,0;0,0,-1" (default)
  --checkpoint DIR     take method and threshold from DIR/checkpoint.json (the ValidationHook's best)
  --id-offset N        add N to every non-zero id (default 0: ids 1..segments)
  --phase P            all (default), or label / join / write to run the phases as separate steps:
                       label on every worker, join once, then write on every worker
  --wait-seconds S     how long a worker waits for the others between phases (default: no limit)
${BLOCKWISE_USAGE}
  Default block: the prediction's chunks, repeated to at least 64 voxels per axis.`;

function offsetsOption(v: string | undefined): number[][] | undefined {
  if (v === undefined) return undefined;
  const offsets = v.split(';').map((o) => o.split(',').map(Number));
  if (offsets.some((o) => o.length !== 3 || o.some((d) => !Number.isInteger(d)))) {
    throw new UsageError(`--offsets must be z,y,x integer triples separated by ';', got ${JSON.stringify(v)}`);
  }
  return offsets;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...BLOCKWISE_OPTIONS,
      method: { type: 'string' },
      threshold: { type: 'string' },
      offsets: { type: 'string' },
      checkpoint: { type: 'string' },
      'id-offset': { type: 'string' },
      phase: { type: 'string' },
      'wait-seconds': { type: 'string' },
      'mask-threshold': { type: 'string' },
      halo: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!values.input) throw new UsageError('--input is required (e.g. out.zarr/prediction)');
  const options = segmentOptions(values);
  const processes = integerOption(values, 'processes', 1) ?? 1;
  const prediction = await openArray(values.input, { option: '--input' });
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  if (processes > 1) {
    const prepared = await segmentVolume(prediction, {
      ...options,
      coordination: { ...options.coordination, prepareOnly: true },
    });
    const phase = options.coordination.phase;
    const phases =
      prepared.parameters.method === 'semantic'
        ? ['write']
        : phase === 'all'
          ? ['label', 'write']
          : phase === 'join'
            ? []
            : [phase];
    await runProcesses('segment', argv, processes, prepared, phases, values.quiet === true);
    console.log(
      `wrote ${values.output}: ${prepared.grid.blocks.length} blocks with ${processes} processes in ` +
        `${seconds()} s (${describe(prepared.parameters)})`,
    );
    return 0;
  }
  const progress = progressFeed(values.quiet === true, 'segment');
  let result: SegmentResult;
  try {
    result = await segmentVolume(prediction, { ...options, onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
  const { phase } = options.coordination;
  const segments = result.segments === null ? '' : `, ${result.segments} segments`;
  console.log(
    `${phase === 'all' ? 'wrote' : `${phase} phase of`} ${values.output}${describeSlot(result.slot)}: ` +
      `${result.grid.blocks.length} blocks${segments} in ${seconds()} s (${describe(result.parameters)})`,
  );
  return 0;
}

/** The command line's options as segmentVolume takes them. */
function segmentOptions(values: Parameters<typeof blockwiseOptions>[0]) {
  const common = blockwiseOptions(values);
  const method = values['method'] as SegmentMethod | undefined;
  // 'affinity': the deprecated name of 'affinities', still accepted (segmentVolume warns).
  if (method !== undefined && !['boundary', 'affinities', 'semantic', 'watershed', 'affinity'].includes(method)) {
    throw new UsageError(`--method must be boundary, affinities, semantic or watershed, got ${method}`);
  }
  const phase = (values['phase'] ?? 'all') as SegmentPhase;
  if (!['all', 'label', 'join', 'write'].includes(phase)) {
    throw new UsageError(`--phase must be all, label, join or write, got ${phase}`);
  }
  const idOffset = values['id-offset'] as string | undefined;
  if (idOffset !== undefined && !/^\d+$/.test(idOffset))
    throw new UsageError(`--id-offset must be a non-negative integer, got ${idOffset}`);
  return {
    ...common,
    parameters: {
      method,
      threshold: numberOption(values, 'threshold'),
      offsets: offsetsOption(values['offsets'] as string | undefined),
      maskThreshold: numberOption(values, 'mask-threshold'),
      halo: integerOption(values, 'halo', 0),
      checkpoint: values['checkpoint'] as string | undefined,
      idOffset: idOffset === undefined ? undefined : BigInt(idOffset),
    },
    coordination: {
      ...common.coordination,
      phase,
      waitSeconds: numberOption(values, 'wait-seconds'),
      onWait: values['quiet'] === true ? undefined : (m: string) => console.error(m),
    },
  } satisfies SegmentVolumeOptions;
}

function describe(p: { method: string; threshold: number; offsets: number[][] }): string {
  return p.method === 'semantic' ? 'semantic argmax' : `${p.method}, threshold ${p.threshold}`;
}
