/**
 * The worker's batch buffers: shared memory, lent for a batch under a slot number and taken back
 * when the pool recycles the slot. Shared buffers travel without being transferred (the first
 * transfer, a detach, of an ArrayBuffer in a thread makes V8 guard every typed-array access of
 * that thread from then on: sample assembly measured 30–40 % slower), and they are reused rather
 * than allocated per batch: fresh memory costs page faults and zeroing (~3 ms per 12 MB batch
 * here), and shared memory is freed late, only once both threads have collected it (fresh buffers
 * per batch took the process to ~3 GiB resident).
 *
 * Without SharedArrayBuffer (a browser page that is not cross-origin isolated) buffers are plain
 * and transferred.
 */
import { BufferPool } from '../assemble.js';

/** At most this many idle buffers of one length are kept (more than a worker ever has in flight). */
const KEEP_PER_LENGTH = 8;

export class BatchBuffers {
  readonly shared = typeof SharedArrayBuffer !== 'undefined';
  private readonly idle = new BufferPool(KEEP_PER_LENGTH);
  private readonly lent = new Map<number, Float32Array>();
  private readonly slotOf = new WeakMap<ArrayBufferLike, number>();
  private nextSlot = 0;

  /** A float32 array of `length` elements (contents arbitrary: the batch writes every element). */
  take(length: number): Float32Array {
    if (!this.shared) return new Float32Array(length);
    const shared = () => new Float32Array(new SharedArrayBuffer(4 * length));
    const array = this.idle.take('float32', length, shared) as Float32Array;
    const slot = this.nextSlot++;
    this.lent.set(slot, array);
    this.slotOf.set(array.buffer, slot);
    return array;
  }

  /** The slot a buffer from `take` was lent under (undefined for plain buffers). */
  slot(buffer: ArrayBufferLike): number | undefined {
    return this.slotOf.get(buffer);
  }

  /** Slots the pool gives back: their buffers may be overwritten from now on. */
  recycle(slots: readonly number[]): void {
    for (const slot of slots) {
      const array = this.lent.get(slot);
      if (!array) continue;
      this.lent.delete(slot);
      this.idle.give('float32', array);
    }
  }

  /** Buffers lent and not yet recycled. */
  get lentCount(): number {
    return this.lent.size;
  }
}
