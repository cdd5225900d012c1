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

/** At most this many idle buffers of one length are kept (more than a worker ever has in flight). */
const KEEP_PER_LENGTH = 8;

export class BatchBuffers {
  readonly shared = typeof SharedArrayBuffer !== 'undefined';
  private readonly idle = new Map<number, SharedArrayBuffer[]>();
  private readonly lent = new Map<number, SharedArrayBuffer>();
  private readonly slotOf = new WeakMap<ArrayBufferLike, number>();
  private nextSlot = 0;

  /** A float32 array of `length` elements (contents arbitrary: the batch writes every element). */
  take(length: number): Float32Array {
    if (!this.shared) return new Float32Array(length);
    const buffer = this.idle.get(4 * length)?.pop() ?? new SharedArrayBuffer(4 * length);
    const slot = this.nextSlot++;
    this.lent.set(slot, buffer);
    this.slotOf.set(buffer, slot);
    return new Float32Array(buffer);
  }

  /** The slot a buffer from `take` was lent under (undefined for plain buffers). */
  slot(buffer: ArrayBufferLike): number | undefined {
    return this.slotOf.get(buffer);
  }

  /** Slots the pool gives back: their buffers may be overwritten from now on. */
  recycle(slots: readonly number[]): void {
    for (const slot of slots) {
      const buffer = this.lent.get(slot);
      if (!buffer) continue;
      this.lent.delete(slot);
      const list = this.idle.get(buffer.byteLength) ?? [];
      if (list.length < KEEP_PER_LENGTH) list.push(buffer);
      this.idle.set(buffer.byteLength, list);
    }
  }

  /** Buffers lent and not yet recycled. */
  get lentCount(): number {
    return this.lent.size;
  }
}
