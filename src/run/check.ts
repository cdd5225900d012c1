/**
 * Small checks for JSON configs: each names the key path at fault (`model.baseFilters`) and says
 * what is wrong; an unknown key suggests the closest known one.
 */
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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${JSON.stringify(value)})`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Edit distance (insert, delete, substitute), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let row = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const next = [i];
    for (let j = 1; j <= t.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[t.length]!;
}

/** The known key closest to `key`, when it is close enough to be a likely typo. */
export function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(Math.max(best.length, key.length) / 3)) ? best : null;
}

export class Checker {
  constructor(readonly source?: string) {}

  fail(key: string, message: string): never {
    throw new ConfigError(key, message, this.source);
  }

  /** An object whose keys are all in `known`. */
  object(value: unknown, key: string, known: readonly string[]): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(key, `must be an object, got ${describe(value)}`);
    }
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      if (known.includes(k)) continue;
      const near = closest(k, known);
      this.fail(
        keyPath(key, k),
        `unknown key${near ? ` (did you mean ${near}?)` : ''}; known keys${key ? ` of ${key}` : ''}: ${known.join(', ')}`,
      );
    }
    return record;
  }

  number(value: unknown, key: string, rule: { integer?: boolean; min?: number; max?: number; above?: number } = {}) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      this.fail(key, `must be a number, got ${describe(value)}`);
    if (rule.integer && !Number.isInteger(value)) this.fail(key, `must be an integer, got ${value}`);
    if (rule.min !== undefined && value < rule.min) this.fail(key, `must be at least ${rule.min}, got ${value}`);
    if (rule.max !== undefined && value > rule.max) this.fail(key, `must be at most ${rule.max}, got ${value}`);
    if (rule.above !== undefined && !(value > rule.above))
      this.fail(key, `must be greater than ${rule.above}, got ${value}`);
    return value;
  }

  positiveInt(value: unknown, key: string): number {
    return this.number(value, key, { integer: true, min: 1 });
  }

  string(value: unknown, key: string): string {
    if (typeof value !== 'string' || value === '') this.fail(key, `must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  boolean(value: unknown, key: string): boolean {
    if (typeof value !== 'boolean') this.fail(key, `must be true or false, got ${describe(value)}`);
    return value;
  }

  oneOf<T extends string>(value: unknown, key: string, choices: readonly T[]): T {
    if (typeof value !== 'string' || !choices.includes(value as T)) {
      const near = typeof value === 'string' ? closest(value, choices) : null;
      this.fail(
        key,
        `must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${describe(value)}${near ? ` (did you mean '${near}'?)` : ''}`,
      );
    }
    return value as T;
  }

  array(value: unknown, key: string, length?: number): unknown[] {
    if (!Array.isArray(value)) this.fail(key, `must be an array, got ${describe(value)}`);
    if (length !== undefined && value.length !== length)
      this.fail(key, `must have ${length} entries, got ${value.length}`);
    return value;
  }

  /** [z, y, x] positive integers. */
  shape(value: unknown, key: string): [number, number, number] {
    const list = this.array(value, key, 3);
    return list.map((v, i) => this.positiveInt(v, keyPath(key, i))) as [number, number, number];
  }

  /** [low, high] with low ≤ high. */
  range(value: unknown, key: string, rule: { above?: number } = {}): [number, number] {
    const list = this.array(value, key, 2);
    const [lo, hi] = list.map((v, i) => this.number(v, keyPath(key, i), rule)) as [number, number];
    if (lo > hi) this.fail(key, `must be [low, high] with low ≤ high, got [${lo}, ${hi}]`);
    return [lo, hi];
  }
}
