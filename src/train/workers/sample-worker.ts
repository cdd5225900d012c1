/**
 * The worker side of the protocol (protocol.ts), free of any platform API: `sampleWorker(post)`
 * returns the message handler; the platform glue (node.ts) feeds it messages and posts its replies.
 * The worker opens the containers itself, prepares its own samplers and assembles whole batches
 * with the same code as the main thread (train/batch.ts), so the bytes are the same.
 */
import { OptionsError } from '../../errors.js';
import { type OpenOptions, openDataSplit } from '../../zarr/split.js';
import type { CropVolume, ZarrCrop } from '../../zarr/crop.js';
import { BatchMaker, prepare } from '../batch.js';
import { BatchBuffers } from './batch-buffers.js';
import { errorToWire, type FromWorker, type ToWorker } from './protocol.js';

export type Post = (message: FromWorker, transfer: ArrayBuffer[]) => void;

/** What a worker holds between messages. */
interface WorkerState {
  post: Post;
  /** How this worker opens its containers. */
  open: OpenOptions;
  buffers: BatchBuffers;
  /** Set by 'init': the batch maker (null for a read-only worker) and the arrays by path per container. */
  maker: Promise<BatchMaker | null> | null;
  volumes: Promise<Map<string, CropVolume>[]> | null;
}

type Message<T extends ToWorker['type']> = Extract<ToWorker, { type: T }>;

/** `open`: how this worker opens its containers (node.ts: blocking file reads, the thread only reads). */
export function sampleWorker(post: Post, open: OpenOptions = {}): (message: ToWorker) => void {
  const state: WorkerState = { post, open, buffers: new BatchBuffers(), maker: null, volumes: null };
  return (message) => {
    switch (message.type) {
      case 'init':
        init(state, message);
        return;
      case 'batch':
        sendBatch(state, message);
        return;
      case 'recycle':
        state.buffers.recycle(message.slots);
        return;
      case 'read':
        sendRead(state, message);
        return;
    }
  };
}

function fail({ post }: WorkerState, id: number | null, e: unknown): void {
  post({ type: 'error', id, error: errorToWire(e) }, []);
}

/** Opens the containers and (unless read-only) prepares the batch maker; answers 'ready' or an error. */
function init(state: WorkerState, message: Message<'init'>): void {
  const { post, open, buffers } = state;
  const opened = Promise.all(message.containers.map((c) => openDataSplit(c, open)));
  const volumes = opened.then((splits) =>
    splits.map((s) => {
      const byPath = new Map<string, CropVolume>();
      for (const c of [...s.train, ...s.test]) {
        for (const v of [c.raw, c.labels, c.mask]) if (v) byPath.set(v.path, v);
      }
      return byPath;
    }),
  );
  const options = message.options;
  const maker = options
    ? opened.then(async (splits) => {
        const crops = message.crops.map((spec) => findCrop(splits[spec.container]!, spec.rawPath));
        return new BatchMaker(await prepare(crops, options), options, (n) => buffers.take(n));
      })
    : Promise.resolve(null);
  state.volumes = volumes;
  state.maker = maker;
  maker.then(
    (m) =>
      post(
        m
          ? {
              type: 'ready',
              channels: m.layout.channels,
              targetChannels: m.layout.targetChannels,
              maskChannels: m.layout.maskChannels,
            }
          : { type: 'ready', channels: 0, targetChannels: 0, maskChannels: 0 },
        [],
      ),
    (e) => fail(state, null, e),
  );
  volumes.catch(() => undefined); // reported through `maker`
}

/** Makes batch `index` and posts it: in shared slots, or its buffers transferred. */
function sendBatch(state: WorkerState, { id, index }: Message<'batch'>): void {
  const { post, buffers, maker } = state;
  if (!maker) {
    fail(state, id, new Error('sample worker: batch requested before init'));
    return;
  }
  maker
    .then((m) => {
      if (!m) throw new Error('sample worker: batch requested from a read-only worker');
      return m.make(index);
    })
    .then(
      ({ xs, ys }) =>
        buffers.shared
          ? post(
              {
                type: 'batch',
                id,
                xs: xs.buffer,
                ys: ys.buffer,
                slots: [xs, ys].map((a) => buffers.slot(a.buffer)!),
              },
              [],
            )
          : post({ type: 'batch', id, xs: xs.buffer, ys: ys.buffer }, [
              xs.buffer as ArrayBuffer,
              ys.buffer as ArrayBuffer,
            ]),
      (e) => fail(state, id, e),
    );
}

/** Reads a region of one of the opened arrays and posts it. */
function sendRead(state: WorkerState, message: Message<'read'>): void {
  const { id } = message;
  const { post, volumes } = state;
  if (!volumes) {
    fail(state, id, new Error('sample worker: read requested before init'));
    return;
  }
  volumes
    .then(async (maps) => {
      const volume = maps[message.container]?.get(message.path);
      if (!volume) throw new OptionsError(`sample worker: no array ${message.path} in container ${message.container}`);
      const data = await volume.read(message.roi);
      // A fresh array owns its whole buffer: transfer it.
      post({ type: 'read', id, dtype: volume.dtype, data: data.buffer as ArrayBuffer }, [data.buffer as ArrayBuffer]);
    })
    .catch((e) => fail(state, id, e));
}

function findCrop(split: { train: ZarrCrop[]; test: ZarrCrop[]; container: string }, rawPath: string): ZarrCrop {
  const crop = [...split.train, ...split.test].find((c) => c.raw.path === rawPath);
  if (!crop) throw new OptionsError(`sample worker: ${split.container} has no crop with raw ${rawPath}`);
  return crop;
}
