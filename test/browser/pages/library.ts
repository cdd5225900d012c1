/**
 * The browser tests' page script: the package as a user's bundle gets it (`tfjs-zarr` through its
 * `browser` export), exposed to the tests' `page.evaluate` as `tz`, with tfjs as `tf`.
 */
import * as tf from '@tensorflow/tfjs';
import * as tz from 'tfjs-zarr';

// The tests' page.evaluate callbacks are compiled by tsx, which wraps named functions in __name().
const __name = <T>(fn: T): T => fn;

Object.assign(globalThis, { tf, tz, __name, libraryReady: true });
