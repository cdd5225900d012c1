/**
 * How sample workers start (Node: worker threads, see node.ts). Bundles for a page get
 * `spawn.browser.ts` (Web Workers) instead, through package.json's `browser` field; the pool
 * (pool.ts) and the protocol are the same on both.
 */
export { spawnNodeWorker as spawnWorker, availableParallelism as defaultWorkerCount } from './node.js';
