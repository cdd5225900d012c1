/**
 * The classes a task is scored by class (semantic and distance tasks): each a name and the label
 * ids of its ground truth (null: every id but 0). The post-processors give the predicted voxels of
 * each class in the same order (PostProcessor.classMasks).
 */
import { OptionsError } from '../errors.js';
import { distanceClassNames, type DistanceOptions } from '../train/targets/distance.js';
import { idSet, idWords, inSet, type LabelId } from '../train/targets/ids.js';
import type { LabelArray } from '../types.js';

export interface ScoreClass {
  name: string;
  /** The ground truth's ids of the class; null: every id but 0. */
  ids: readonly LabelId[] | null;
}

/** The ground truth of each class: 1 where the label is one of its ids. */
export function groundTruthClasses(labels: LabelArray, classes: readonly ScoreClass[]): Uint8Array[] {
  const words = idWords(labels);
  return classes.map((c) => {
    const set = c.ids === null ? null : idSet(c.ids);
    if (c.ids !== null && set === null) {
      throw new OptionsError(`class ${c.name}: ids must be label ids (integers ≥ 0 below 2^64), got ${String(c.ids)}`);
    }
    return inSet(words, labels.length, set);
  });
}

/**
 * The scored classes of a semantic task: label i is class i; class 0 (background) is not scored.
 * `classes`: their names, or their number (names '1', '2', …).
 */
export function semanticClasses(classes: readonly string[] | number): ScoreClass[] {
  const names = typeof classes === 'number' ? Array.from({ length: classes }, (_, i) => String(i)) : classes;
  return names.slice(1).map((name, i) => ({ name, ids: [i + 1] }));
}

/** The scored classes of a distance task: one per channel. */
export function distanceClasses(options: DistanceOptions): ScoreClass[] {
  const names = distanceClassNames(options);
  return names.map((name, k) => {
    const c = options.classes?.[k];
    return { name, ids: c === undefined ? null : Array.isArray(c) ? c : [c as LabelId] };
  });
}
