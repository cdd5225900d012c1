/**
 * The ops tfjs-zarr's layers compute with: on the wasm backend on our kernels (src/kernels/wasm,
 * threaded), on every other backend with tfjs's own ops, the same values either way.
 */
export { type Conv3dOptions, conv3dOp, convPads, type Padding, type Triple } from './conv.js';
export { maxPool3dOp, upSample3dOp } from './resample.js';
