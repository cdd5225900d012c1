/**
 * Seeded random streams. Everything random in the training pipeline draws from an `Rng` made
 * here, so samples are a function of the seed alone: a sample gets its own stream with
 * `rng.fork(label)`, which depends only on the parent's seed and the label (never on how many
 * numbers the parent has drawn, nor on timing or prefetch depth).
 */
import seedrandom from 'seedrandom';
import { OptionsError } from '../errors.js';

export interface Rng {
  /** The seed string this stream was made from (forks: `${parentSeed}/${label}`). */
  readonly seed: string;
  /** Uniform in [0, 1), 53 bits of randomness. */
  next(): number;
  /** Uniform integer in [0, n); n a positive integer (exact up to 2^53). */
  int(n: number): number;
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number;
  /**
   * A derived, independent stream: a function of this stream's seed and `label` only
   * (its seed is `${seed}/${label}`, so fork('a').fork('b') is the same stream as fork('a/b')).
   */
  fork(label: string | number): Rng;
}

export function makeRng(seed: number | string): Rng {
  if (typeof seed === 'number' && !Number.isFinite(seed)) {
    throw new OptionsError(`makeRng: the seed must be a finite number or a string, got ${seed}`);
  }
  return new SeededRng(String(seed));
}

class SeededRng implements Rng {
  readonly seed: string;
  private readonly prng: seedrandom.PRNG;

  constructor(seed: string) {
    this.seed = seed;
    // ARC4 key scheduling repeats the key, so seedrandom('1') and seedrandom('11') are the same
    // stream. A length prefix makes distinct seeds give distinct keys.
    this.prng = seedrandom(`${seed.length}:${seed}`);
  }

  next(): number {
    return this.prng.double();
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new OptionsError(`Rng.int: n must be a positive integer, got ${n}`);
    }
    // double() < 1, so floor(double * n) < n for n < 2^53.
    return Math.floor(this.prng.double() * n);
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.prng.double();
  }

  fork(label: string | number): Rng {
    return new SeededRng(`${this.seed}/${label}`);
  }
}
