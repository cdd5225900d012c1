/**
 * The browser tests' page script: the package as a user's bundle gets it (`tfjs-zarr` through its
 * `browser` export), exposed to the tests' `page.evaluate` as `tz`, with tfjs as `tf`.
 */
import * as tf from '@tensorflow/tfjs';
import * as tz from 'tfjs-zarr';

Object.assign(globalThis, { tf, tz, libraryReady: true });
