/**
 * Benchmarks for evaluation: VOI and the adapted Rand error of two 256^3 segmentations (each
 * alone, and both from one table) and connected components of a 128^3 foreground. Run directly:
 * `node --import tsx bench/voi.ts` (prints JSON), or `npm run bench -- voi`. scikit-image's
 * `variation_of_information` and `adapted_rand_error` run on the same volumes in a child process
 * (/usr/bin/python3 scripts/bench_voi_skimage.py --serve, at its best: malloc's mmap threshold
 * raised, bench/python.ts), call after call with ours, so that the ratio compares the two under
 * the same machine load (others share these cores); each side's first call is a warm-up, reported
 * apart.
 *
 * The volumes are closed-form functions of (z, y, x) so scripts/bench_voi_skimage.py builds
 * bit-identical data in numpy:
 *   gt[z,y,x]   = 1 + (z>>4)*128 + (y>>4)*8 + (x>>5)                               2048 ids, no 0
 *   pred[z,y,x] = ((z+7)>>4)*289 + ((y+3)>>4)*17 + ((x + (7*y + 13*z) % 11) >> 4)  4913 ids (0 included)
 *   noise (worst case, no runs along x): ids = hash(i) % 2000 + 1 and hash(i ^ 0x5bd1e995) % 4000,
 *   with hash as below over the linear index i
 *   fg (128^3) = (hash(i) & 255) < 80        (p ≈ 0.31, near the site-percolation threshold)
 * where hash(i) = h ^= h>>>16 ; h *= 0x45d9f3b ; h ^= h>>>16 ; starting from h = i * 2654435761,
 * all uint32 arithmetic.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adaptedRandError, segmentationScores, variationOfInformation } from '../src/eval/voi.js';
import { connectedComponents } from '../src/eval/components.js';
import { PythonServer } from './python.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function hash32(i: number): number {
  let h = Math.imul(i, 2654435761 | 0);
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h >>> 0;
}

export function makeVoiVolumes(size = 256): { gt: Uint32Array; pred: Uint32Array } {
  const n = size ** 3;
  const gt = new Uint32Array(n);
  const pred = new Uint32Array(n);
  let i = 0;
  for (let z = 0; z < size; z++) {
    for (let y = 0; y < size; y++) {
      const shift = (7 * y + 13 * z) % 11;
      const pzy = ((z + 7) >> 4) * 289 + ((y + 3) >> 4) * 17;
      const gzy = 1 + (z >> 4) * 128 + (y >> 4) * 8;
      for (let x = 0; x < size; x++, i++) {
        gt[i] = gzy + (x >> 5);
        pred[i] = pzy + ((x + shift) >> 4);
      }
    }
  }
  return { gt, pred };
}

export function makeNoiseVolumes(size = 256): { gt: Uint32Array; pred: Uint32Array } {
  const n = size ** 3;
  const gt = new Uint32Array(n);
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    gt[i] = (hash32(i) % 2000) + 1;
    pred[i] = hash32((i ^ 0x5bd1e995) >>> 0) % 4000;
  }
  return { gt, pred };
}

export function makeForeground(size = 128): Uint8Array {
  const n = size ** 3;
  const fg = new Uint8Array(n);
  for (let i = 0; i < n; i++) fg[i] = (hash32(i) & 255) < 80 ? 1 : 0;
  return fg;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(runs: number, fn: () => void): number {
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

function toUint64(a: Uint32Array, high: bigint): BigUint64Array {
  const out = new BigUint64Array(a.length);
  const words = new Uint32Array(out.buffer);
  const lo = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
  const hi = Number(high);
  for (let i = 0; i < a.length; i++) {
    words[2 * i + lo] = a[i];
    words[2 * i + 1 - lo] = hi;
  }
  return out;
}

interface SkimageTiming {
  s: number;
  cpu_s: number;
  values: number[];
}

type Score = 'voi' | 'arand';

/**
 * scikit-image in a child process (scripts/bench_voi_skimage.py --serve, at its best: see
 * bench/python.ts) that times one `variation_of_information` or `adapted_rand_error` call per
 * request, so that its calls can alternate with ours.
 */
class Skimage {
  private constructor(private readonly server: PythonServer) {}

  static async start(): Promise<Skimage | null> {
    const server = await PythonServer.start(
      path.join(here, '..', 'scripts', 'bench_voi_skimage.py'),
      ['--serve'],
      'scikit-image',
    );
    return server && new Skimage(server);
  }

  async time(score: Score, volumes: 'voi' | 'noise'): Promise<SkimageTiming> {
    return (await this.server.ask(`${score} ${volumes}`)) as unknown as SkimageTiming;
  }

  close(): void {
    this.server.close();
  }
}

/**
 * Our score and scikit-image's on the same volumes, call after call, so that both see the same
 * load: first one call of each as a warm-up (code compiled, memory mapped; reported apart), then
 * median wall seconds of each, the median and smallest ratio of a round, and the median ratio of
 * CPU seconds (steadier than wall time while others share the cores). `ours` returns the values
 * scikit-image returns (VOI: split, merge; ARand: are, precision, recall).
 */
async function sideBySide(
  name: string,
  [score, volumes]: [Score, 'voi' | 'noise'],
  rounds: number,
  ours: () => number[],
  sk: Skimage | null,
  out: Record<string, number>,
): Promise<number[]> {
  let t0 = performance.now();
  let r = ours();
  out[`${name}_warmup_s`] = (performance.now() - t0) / 1000;
  if (sk !== null) out[`${name}_skimage_warmup_s`] = (await sk.time(score, volumes)).s;
  const oursS: number[] = [];
  const theirsS: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const c0 = process.cpuUsage();
    t0 = performance.now();
    r = ours();
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    oursS.push(s);
    if (sk === null) continue;
    const theirs = await sk.time(score, volumes);
    if (theirs.values.some((v, i) => Math.abs(v - r[i]!) > 1e-9)) {
      throw new Error(`${name}: scikit-image gives ${theirs.values.join('/')}, we ${r.join('/')}`);
    }
    theirsS.push(theirs.s);
    ratios.push(theirs.s / s);
    cpuRatios.push(theirs.cpu_s / ((c.user + c.system) / 1e6));
  }
  out[`${name}_s`] = median(oursS);
  if (sk !== null) {
    out[`${name}_skimage_s`] = median(theirsS);
    out[`${name}_speedup_median`] = median(ratios);
    out[`${name}_speedup_min`] = Math.min(...ratios);
    out[`${name}_cpu_speedup_median`] = median(cpuRatios);
  }
  return r;
}

export async function benchVoi(): Promise<Record<string, number>> {
  const runs = 5;
  const out: Record<string, number> = { load_1min_start: loadavg()[0] };
  const sk = await Skimage.start();
  try {
    let { gt, pred } = makeVoiVolumes(256);
    const voiOf = (g: typeof gt, p: typeof pred) => {
      const v = variationOfInformation(g, p);
      return [v.voiSplit, v.voiMerge];
    };
    const arandOf = (g: typeof gt, p: typeof pred) => {
      const a = adaptedRandError(g, p);
      return [a.are, a.precision, a.recall];
    };
    const [split, merge] = await sideBySide('voi_256_u32', ['voi', 'voi'], 9, () => voiOf(gt, pred), sk, out);
    const r = { voi: split! + merge! };
    out['voi_256_split_bits'] = split!;
    out['voi_256_merge_bits'] = merge!;
    const [are] = await sideBySide('arand_256_u32', ['arand', 'voi'], 9, () => arandOf(gt, pred), sk, out);
    out['arand_256'] = are!;
    // VOI and ARand from one table (what the ValidationHook computes per parameter set).
    out['voi_arand_256_u32_s'] = time(runs, () => {
      if (segmentationScores(gt, pred).are !== are) throw new Error('segmentationScores differs from adaptedRandError');
    });

    // Same partition with every uint64 id above 2^53 (high word 0x100000): the hashed-index path.
    {
      const gt64 = toUint64(gt, 0x100000n);
      const pred64 = toUint64(pred, 0x100000n);
      let r64 = r;
      out['voi_256_u64_s'] = time(runs, () => {
        r64 = variationOfInformation(gt64, pred64);
      });
      if (Math.abs(r64.voi - r.voi) > 1e-9) throw new Error(`uint64 VOI ${r64.voi} != uint32 VOI ${r.voi}`);
    }

    // Realistic mix: uint64 gt holding small ids (as stored labels arrive) vs a uint32 prediction.
    {
      const gt64 = toUint64(gt, 0n);
      let r64 = r;
      out['voi_256_u64gt_u32pred_s'] = time(runs, () => {
        r64 = variationOfInformation(gt64, pred);
      });
      if (Math.abs(r64.voi - r.voi) > 1e-9) throw new Error(`uint64 VOI ${r64.voi} != uint32 VOI ${r.voi}`);
    }

    // With a mask that keeps every voxel (the mask's own cost).
    {
      const mask = new Uint8Array(gt.length).fill(1);
      let rm = r;
      out['voi_256_u32_mask_s'] = time(runs, () => {
        rm = variationOfInformation(gt, pred, { mask });
      });
      if (Math.abs(rm.voi - r.voi) > 1e-9) throw new Error(`masked VOI ${rm.voi} != VOI ${r.voi}`);
    }

    ({ gt, pred } = makeNoiseVolumes(256));
    const rn = await sideBySide('voi_256_noise', ['voi', 'noise'], 3, () => voiOf(gt, pred), sk, out);
    out['voi_256_noise_split_bits'] = rn[0]!;
    out['voi_256_noise_merge_bits'] = rn[1]!;
    await sideBySide('arand_256_noise', ['arand', 'noise'], 3, () => arandOf(gt, pred), sk, out);
  } finally {
    sk?.close();
  }

  const fg = makeForeground(128);
  let count = 0;
  out['cc_128_s'] = time(runs, () => {
    count = connectedComponents(fg, [128, 128, 128]).count;
  });
  out['cc_128_count'] = count;
  out['load_1min_end'] = loadavg()[0];
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchVoi().then((r) => console.log(JSON.stringify(r, null, 2)));
}
