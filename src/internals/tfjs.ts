/**
 * Every private internal of TensorFlow.js that tfjs-zarr relies on, in one place. Each has no
 * public equivalent (the reason is beside it); test/internals/tfjs.test.ts fails when a tfjs
 * release changes one, and package.json pins @tensorflow/* to the exact version they were
 * checked against.
 */
import * as tf from '@tensorflow/tfjs';

/** One training step on a batch: the loss (and metrics) as scalars, to be disposed by the caller. */
export type TrainStep = (data: tf.Tensor[]) => tf.Scalar[];

/**
 * The step `model.fitDataset` takes (LayersModel's private `makeTrainFunction`). `trainOnBatch`
 * would insist that ys has the model's output channels, but our ys is the target ⊕ its mask
 * (split again by maskedLoss).
 */
export function trainStepOf(model: tf.LayersModel): TrainStep {
  const internal = model as unknown as { makeTrainFunction?: () => TrainStep };
  if (typeof internal.makeTrainFunction !== 'function') {
    throw new Error(`tfjs ${tf.version.tfjs}: LayersModel.makeTrainFunction is gone (see src/internals/tfjs.ts)`);
  }
  return internal.makeTrainFunction();
}

/**
 * Whether a disposed tensor's memory is free, i.e. no other tensor (a reshape, a clone) still
 * shares its data: the engine's private tensor registry (`engine.state.tensorInfo`). tfjs has
 * no public way to ask.
 */
export function tensorDataReleased(t: tf.Tensor): boolean {
  return t.isDisposed && !tf.engine().state.tensorInfo.has(t.dataId);
}

/** Adam's running powers of beta1 and beta2 (private `accBeta1`/`accBeta2`); null for other optimizers. */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/**
 * Adam's beta powers, read exactly: its public `setWeights` recomputes them with `pow` from the
 * iteration count, which differs in the last bits from the product Adam keeps.
 */
export async function readAdamBetaPowers(optimizer: tf.Optimizer): Promise<[number, number] | null> {
  const o = optimizer as unknown as AdamInternals;
  if (!o.accBeta1 || !o.accBeta2) return null;
  return [(await o.accBeta1.data())[0]!, (await o.accBeta2.data())[0]!];
}

/** Restores what readAdamBetaPowers read; false when the optimizer keeps no beta powers. */
export function writeAdamBetaPowers(optimizer: tf.Optimizer, [b1, b2]: readonly [number, number]): boolean {
  const o = optimizer as unknown as AdamInternals;
  const { accBeta1, accBeta2 } = o;
  if (!accBeta1 || !accBeta2) return false;
  tf.tidy(() => {
    accBeta1.assign(tf.scalar(b1));
    accBeta2.assign(tf.scalar(b2));
  });
  return true;
}

/**
 * Whether a backend was already initialised (the engine's private `registry` of backend
 * instances). `tf.findBackend` would initialise it as a side effect.
 */
export function backendInitialized(name: string): boolean {
  const registry = (tf.engine() as unknown as { registry?: Record<string, unknown> }).registry;
  if (registry === undefined || typeof registry !== 'object') {
    throw new Error(`tfjs ${tf.version.tfjs}: engine.registry is gone (see src/internals/tfjs.ts)`);
  }
  return registry[name] != null;
}
