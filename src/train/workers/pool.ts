/**
 * A pool of sample workers behind a platform-neutral port (`WorkerPort`; node.ts adapts Node's
 * worker_threads, a browser would adapt Web Workers). The pool starts its workers on the first
 * request, sends each request to the least busy one, and
 * - keeps the process alive only while someone awaits a result (`wait`): workers are unref'd
 *   otherwise, so a script that stops pulling batches exits by itself;
 * - stops its workers after `idleMs` without requests (and on `close()`), starting them again
 *   when asked for more;
 * - turns a worker's error into the rejection of that request (same error class and message),
 *   and a worker that dies into the rejection of everything it had in hand.
 */
import type { Roi } from '../../roi.js';
import type { StoredArray } from '../../types.js';
import { newStoredArray } from '../../zarr/volume.js';
import {
  errorFromWire,
  type ContainerSpec,
  type CropSpec,
  type FromWorker,
  type ToWorker,
  type WorkerBatchPlan,
} from './protocol.js';

export interface WorkerPort {
  post(message: ToWorker, transfer?: ArrayBuffer[]): void;
  /** Replies; `onExit` with an error when the worker dies (null: it was terminated). */
  listen(onMessage: (message: FromWorker) => void, onExit: (error: Error | null) => void): void;
  terminate(): void;
  /** Whether the worker may keep the process alive. */
  keepAlive(on: boolean): void;
}

export type SpawnWorker = () => WorkerPort;

export interface SamplePoolOptions {
  size: number;
  spawn: SpawnWorker;
  containers: ContainerSpec[];
  crops: CropSpec[];
  /** Null: a pool for reads only. */
  options: WorkerBatchPlan | null;
  /** Stop the workers after this long without a request (ms). */
  idleMs: number;
}

export interface ChannelLayout {
  channels: number;
  targetChannels: number;
  maskChannels: number;
}

/** A batch from the pool (see `SamplePool.batch`). */
export interface PoolBatch {
  xs: Float32Array;
  ys: Float32Array;
  /** Whether xs and ys are a worker's memory, lent until released or collected. */
  lent: boolean;
  /** Gives lent memory back now: xs and ys are overwritten afterwards. */
  release(): void;
  /**
   * Says that a consumer keeps xs and ys (a tensor on a backend that holds its values): the memory
   * goes back once they are collected, and counts towards the worker's slots awaiting collection.
   */
  keep(): void;
}

/**
 * Lent slots a worker may have kept by consumers, awaiting garbage collection; past that, batches
 * that arrive are copied into fresh memory on arrival (inside the consumer's `next()` when its
 * step blocks the thread; `reuseDisposed` avoids the copies).
 */
const MAX_AWAITING_COLLECTION = 8;

/** Lent buffers given back once collected: the slot's memory is then referenced by no view. */
const collected = new FinalizationRegistry<Loan>((loan) => loan.member.giveBack([loan]));

/**
 * One slot of a worker's memory lent with a batch. It holds its buffer weakly only (the registry
 * holds the loan): whether the buffer was collected can be asked at any time (`collected`), before
 * the registry's callback, which runs only in a later turn of the event loop.
 */
class Loan {
  private readonly buffer: WeakRef<ArrayBufferLike>;
  /** Kept by a consumer (`keep()`), counted in its member's slots awaiting collection. */
  kept = false;
  done = false;

  constructor(
    readonly member: Member,
    readonly slot: number,
    buffer: ArrayBufferLike,
  ) {
    this.buffer = new WeakRef(buffer);
    collected.register(buffer, this, this);
  }

  get collected(): boolean {
    return this.buffer.deref() === undefined;
  }
}

/** A batch in memory of this thread's own. */
function ownBatch(xsBuffer: ArrayBuffer, ysBuffer: ArrayBuffer): PoolBatch {
  const xs = new Float32Array(xsBuffer);
  const ys = new Float32Array(ysBuffer);
  const none = () => undefined;
  return { xs, ys, lent: false, release: none, keep: none };
}

interface Pending {
  resolve(message: FromWorker): void;
  reject(error: Error): void;
}

class Member {
  readonly pending = new Map<number, Pending>();
  readonly ready: Promise<ChannelLayout>;
  /** Lent batch slots kept by consumers (`keep()`) and not yet collected. */
  readonly kept = new Set<Loan>();
  private settleReady!: { resolve(l: ChannelLayout): void; reject(e: Error): void };
  dead = false;

  constructor(readonly port: WorkerPort) {
    this.ready = new Promise<ChannelLayout>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => undefined); // surfaced through requests
    port.listen(
      (m) => this.receive(m),
      (error) => this.died(error ?? new Error('sample worker stopped')),
    );
  }

  private receive(m: FromWorker): void {
    if (m.type === 'ready') {
      this.settleReady.resolve(m);
      return;
    }
    if (m.type === 'error' && m.id === null) {
      this.settleReady.reject(errorFromWire(m.error));
      return;
    }
    const id = m.id as number;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (m.type === 'error') p.reject(errorFromWire(m.error));
    else p.resolve(m);
  }

  /** Gives the loans' slots back to the worker (each once). */
  giveBack(loans: readonly Loan[]): void {
    const slots: number[] = [];
    for (const loan of loans) {
      if (loan.done) continue;
      loan.done = true;
      collected.unregister(loan);
      this.kept.delete(loan);
      slots.push(loan.slot);
    }
    if (slots.length > 0 && !this.dead) this.port.post({ type: 'recycle', slots });
  }

  /** Kept slots whose buffers were collected go back now, without waiting for the registry's callbacks. */
  sweep(): void {
    const gone = [...this.kept].filter((loan) => loan.collected);
    if (gone.length > 0) this.giveBack(gone);
  }

  died(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.settleReady.reject(error);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

export class SamplePool {
  private members: Member[] = [];
  private nextId = 0;
  private waiters = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(private readonly o: SamplePoolOptions) {}

  /** The batch layout, once the workers have prepared their samplers (rejects with their error). */
  layout(): Promise<ChannelLayout> {
    return this.wait(this.start()[0]!.ready);
  }

  /**
   * Batch `index`: xs and ys as float32 arrays. When `lent`, they are the worker's shared memory,
   * lent until `release()` or, failing that, until both arrays' buffers have been garbage
   * collected; `keep()` when a consumer holds on to them (a tensor on the cpu backend).
   */
  async batch(index: number): Promise<PoolBatch> {
    const { reply, member } = await this.request({ type: 'batch', id: 0, index });
    const m = reply as Extract<FromWorker, { type: 'batch' }>;
    const slots = m.slots;
    if (!slots) return ownBatch(m.xs as ArrayBuffer, m.ys as ArrayBuffer);
    member.sweep();
    if (member.kept.size + slots.length > MAX_AWAITING_COLLECTION) {
      const copy = ownBatch(new Uint8Array(m.xs).slice().buffer, new Uint8Array(m.ys).slice().buffer);
      if (!member.dead) member.port.post({ type: 'recycle', slots });
      return copy;
    }
    // Until released, the slots come back once the buffers are collected (an abandoned batch too).
    const loans = [new Loan(member, slots[0]!, m.xs), new Loan(member, slots[1]!, m.ys)];
    const release = () => member.giveBack(loans);
    const keep = () => {
      for (const loan of loans) {
        if (loan.done || loan.kept) continue;
        loan.kept = true;
        member.kept.add(loan);
      }
    };
    return { xs: new Float32Array(m.xs), ys: new Float32Array(m.ys), lent: true, release, keep };
  }

  /** A volume's stored values over `roi`, read and decoded by a worker (`worker`: which one, modulo the size). */
  async read(container: number, path: string, roi: Roi, worker?: number): Promise<StoredArray> {
    const m = (await this.request({ type: 'read', id: 0, container, path, roi }, worker)).reply as Extract<
      FromWorker,
      { type: 'read' }
    >;
    const empty = newStoredArray(m.dtype, 0);
    return new (empty.constructor as new (b: ArrayBuffer) => StoredArray)(m.data);
  }

  /**
   * Awaits `promise` with the workers allowed to keep the process alive meanwhile (a consumer is
   * waiting for them); otherwise they never do.
   */
  async wait<T>(promise: Promise<T>): Promise<T> {
    if (this.waiters++ === 0) for (const m of this.members) m.port.keepAlive(true);
    try {
      return await promise;
    } finally {
      if (--this.waiters === 0) for (const m of this.members) m.port.keepAlive(false);
    }
  }

  /** Stops the workers now; requests in flight are rejected. Later requests start them again. */
  close(): void {
    this.clearIdle();
    const members = this.members;
    this.members = [];
    for (const m of members) {
      m.died(new Error('the sample worker pool was closed'));
      m.port.terminate();
    }
  }

  /** Stops for good (a dataset that is done). */
  dispose(): void {
    this.closed = true;
    this.close();
  }

  /** Workers when running. */
  get size(): number {
    return this.o.size;
  }

  get running(): number {
    return this.members.length;
  }

  private start(): Member[] {
    if (this.closed) throw new Error('the sample worker pool was disposed');
    this.members = this.members.filter((m) => !m.dead);
    while (this.members.length < this.o.size) {
      const port = this.o.spawn();
      port.keepAlive(this.waiters > 0);
      const member = new Member(port);
      port.post({ type: 'init', containers: this.o.containers, crops: this.o.crops, options: this.o.options });
      this.members.push(member);
    }
    return this.members;
  }

  private request(
    message: Extract<ToWorker, { id: number }>,
    worker?: number,
  ): Promise<{ reply: FromWorker; member: Member }> {
    this.clearIdle();
    const members = this.start();
    let best = members[0]!;
    if (worker !== undefined) best = members[((worker % members.length) + members.length) % members.length]!;
    else for (const m of members) if (m.pending.size < best.pending.size) best = m;
    const id = this.nextId++;
    const member = best;
    const result = new Promise<FromWorker>((resolve, reject) => {
      member.pending.set(id, { resolve, reject });
      member.port.post({ ...message, id });
    });
    const settled = () => this.armIdle();
    result.then(settled, settled);
    return result.then((reply) => ({ reply, member }));
  }

  private armIdle(): void {
    if (this.members.some((m) => m.pending.size > 0)) return;
    this.clearIdle();
    this.idleTimer = setTimeout(() => this.close(), this.o.idleMs);
    // The timer never keeps the process alive either.
    (this.idleTimer as { unref?: () => void }).unref?.();
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
