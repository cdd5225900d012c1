/**
 * The corpus of broken containers (scripts/make_broken_fixtures.py), read from the local files:
 * each reads exactly what zarr-python reads, or fails with the error class and a message naming
 * the container, array, attribute or chunk at fault. Never a wrong voxel, a crash or a hang.
 */
import { describe, it } from 'node:test';
import { checkCase, corpusCases } from '../helpers/corpus.js';

describe('broken corpus (local)', () => {
  for (const { name, container, expected } of corpusCases()) {
    it(`${name}: ${expected.what} → ${expected.expect === 'data' ? 'zarr-python’s data' : `${expected.class} at ${expected.stage}`}`, () =>
      checkCase(container, expected));
  }
});
