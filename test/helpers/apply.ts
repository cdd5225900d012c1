/** Shared pieces of the apply tests: a tiny seeded conv net, file comparisons, synthetic predictions. */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Two 3×3×3 'valid' convolutions and a 1×1×1 sigmoid head (receptive radius 2): input [12, 12, 12]
 * gives output [8, 8, 8]. Seeded: the same seed gives the same weights.
 */
export function tinyValidNet(seed = 7, outChannels = 1, spatial: number[] | null = [12, 12, 12]): tf.LayersModel {
  const k = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const b = (s: number) => tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + s });
  const model = tf.sequential({ name: 'tiny' });
  const inputShape = [...(spatial ?? [null, null, null]), 1] as number[];
  model.add(
    tf.layers.conv3d({
      inputShape,
      filters: 3,
      kernelSize: 3,
      activation: 'tanh',
      kernelInitializer: k(1),
      biasInitializer: b(2),
    }),
  );
  model.add(
    tf.layers.conv3d({ filters: 2, kernelSize: 3, activation: 'tanh', kernelInitializer: k(3), biasInitializer: b(4) }),
  );
  model.add(
    tf.layers.conv3d({
      filters: outChannels,
      kernelSize: 1,
      activation: 'sigmoid',
      kernelInitializer: k(5),
      biasInitializer: b(6),
    }),
  );
  return model;
}

/** Relative path → bytes of every file under `dir`, leaving out the `.blocks` markers. */
export async function arrayFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  async function visit(d: string, rel: string) {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (e.name === '.blocks') continue;
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p, r);
      else out.set(r, await fsp.readFile(p));
    }
  }
  await visit(dir, '');
  return out;
}

/** Mulberry32: a tiny seeded generator for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Asserts that two labelings are the same partition: equal where one is background (0) exactly when
 * the other is (when `background`), and a one-to-one map between the other ids.
 */
export function samePartition(
  a: ArrayLike<number | bigint>,
  b: ArrayLike<number | bigint>,
  background: boolean,
): { segments: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  for (let i = 0; i < a.length; i++) {
    const x = String(a[i]);
    const y = String(b[i]);
    if (background && (x === '0') !== (y === '0')) throw new Error(`voxel ${i}: ${x} vs ${y} (background differs)`);
    const fx = ab.get(x);
    if (fx === undefined) ab.set(x, y);
    else if (fx !== y) throw new Error(`voxel ${i}: id ${x} maps to both ${fx} and ${y} (a split)`);
    const fy = ba.get(y);
    if (fy === undefined) ba.set(y, x);
    else if (fy !== x) throw new Error(`voxel ${i}: id ${y} maps to both ${fy} and ${x} (a merge)`);
  }
  return { segments: ab.size };
}
