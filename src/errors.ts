/**
 * One error class for bad data: the message names the container, the array path and the
 * attribute or chunk at fault, so a user can go and fix the file.
 */
export class DataFormatError extends Error {
  readonly container: string;
  readonly arrayPath: string | undefined;
  readonly attribute: string | undefined;

  constructor(
    message: string,
    where: { container: string; path?: string; attribute?: string },
    options?: { cause?: unknown },
  ) {
    const parts = [`${where.container}`];
    if (where.path !== undefined) parts.push(`array ${where.path}`);
    if (where.attribute !== undefined) parts.push(`attribute ${where.attribute}`);
    super(`${parts.join(', ')}: ${message}`, options);
    this.name = 'DataFormatError';
    this.container = where.container;
    this.arrayPath = where.path;
    this.attribute = where.attribute;
  }
}

/** Bad options given to the API (shapes, weights, thresholds): fail early with what is wrong. */
export class OptionsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OptionsError';
  }
}

/**
 * A blockwise job (predictVolume, segmentVolume) that is not in the state the call needs: its
 * input is not complete yet, a phase it depends on has not run, or the wait for other workers was
 * given up. Not a bad argument: the same call succeeds once the job has got there. `array` is the
 * array at issue; `missing` the blocks it still lacks, when known.
 */
export class JobStateError extends Error {
  readonly array: string;
  readonly missing: number | undefined;

  constructor(message: string, where: { array: string; missing?: number }) {
    super(message);
    this.name = 'JobStateError';
    this.array = where.array;
    this.missing = where.missing;
  }
}
