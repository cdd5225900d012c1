/**
 * The error of a bad run config and the words of its messages: each names the key path at fault
 * (`model.baseFilters`) and says what is wrong; an unknown key or value suggests the closest known one.
 */
import { distance } from 'fastest-levenshtein';
import { OptionsError } from '../errors.js';

/** A bad run config: `key` is the path of the key at fault (`optimizer.learningRate`). */
export class ConfigError extends OptionsError {
  readonly key: string;
  constructor(key: string, message: string, source?: string) {
    super(`${source ? `${source}: ` : ''}${key || '(top level)'}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export const keyPath = (parent: string, key: string | number): string =>
  typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/** A value as a message shows it: `the string "4"`, `an array ([16, 48])`, `number 2.5`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${JSON.stringify(value)})`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The known key closest to `key` (case-insensitive edit distance), when close enough to be a likely typo. */
export function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(Math.max(best.length, key.length) / 3)) ? best : null;
}
