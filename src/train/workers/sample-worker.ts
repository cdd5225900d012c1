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

/** `open`: how this worker opens its containers (node.ts: blocking file reads, the thread only reads). */
export function sampleWorker(post: Post, open: OpenOptions = {}): (message: ToWorker) => void {
  let maker: Promise<BatchMaker | null> | null = null;
  let volumes: Promise<Map<string, CropVolume>[]> | null = null;
  const buffers = new BatchBuffers();
  const fail = (id: number | null, e: unknown) => post({ type: 'error', id, error: errorToWire(e) }, []);

  return (message) => {
    switch (message.type) {
      case 'init': {
        const opened = Promise.all(message.containers.map((c) => openDataSplit(c, open)));
        volumes = opened.then((splits) =>
          splits.map((s) => {
            const byPath = new Map<string, CropVolume>();
            for (const c of [...s.train, ...s.test]) {
              for (const v of [c.raw, c.labels, c.mask]) if (v) byPath.set(v.path, v);
            }
            return byPath;
          }),
        );
        const options = message.options;
        maker = options
          ? opened.then(async (splits) => {
              const crops = message.crops.map((spec) => findCrop(splits[spec.container]!, spec.rawPath));
              return new BatchMaker(await prepare(crops, options), options, (n) => buffers.take(n));
            })
          : Promise.resolve(null);
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
          (e) => fail(null, e),
        );
        volumes.catch(() => undefined); // reported through `maker`
        return;
      }
      case 'batch': {
        const { id, index } = message;
        if (!maker) return fail(id, new Error('sample worker: batch requested before init'));
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
            (e) => fail(id, e),
          );
        return;
      }
      case 'recycle':
        buffers.recycle(message.slots);
        return;
      case 'read': {
        const { id } = message;
        if (!volumes) return fail(id, new Error('sample worker: read requested before init'));
        volumes
          .then(async (maps) => {
            const volume = maps[message.container]?.get(message.path);
            if (!volume)
              throw new OptionsError(`sample worker: no array ${message.path} in container ${message.container}`);
            const data = await volume.read(message.roi);
            // A fresh array owns its whole buffer: transfer it.
            post({ type: 'read', id, dtype: volume.dtype, data: data.buffer as ArrayBuffer }, [
              data.buffer as ArrayBuffer,
            ]);
          })
          .catch((e) => fail(id, e));
        return;
      }
    }
  };
}

function findCrop(split: { train: ZarrCrop[]; test: ZarrCrop[]; container: string }, rawPath: string): ZarrCrop {
  const crop = [...split.train, ...split.test].find((c) => c.raw.path === rawPath);
  if (!crop) throw new OptionsError(`sample worker: ${split.container} has no crop with raw ${rawPath}`);
  return crop;
}
