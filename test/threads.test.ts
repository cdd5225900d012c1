/**
 * Threads: useFastestBackend's `threads` (and TFJS_ZARR_THREADS), what describeBackend says about
 * them, and the run config's `threads` key and `--threads` flag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultThreads, describeBackend, useFastestBackend } from '../src/backend.js';
import { kernelThreads } from '../src/kernels/context.js';
import { ConfigError } from '../src/run/check.js';
import { resolveRunConfig } from '../src/run/config.js';
import { OptionsError } from '../src/errors.js';
import { availableParallelism } from 'node:os';

async function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

test('the default is every core', () => {
  assert.equal(defaultThreads(), availableParallelism());
});

test('useFastestBackend runs the kernels on the threads asked for and says so', async () => {
  await withEnv('TFJS_ZARR_BACKEND', 'wasm', async () => {
    await useFastestBackend({ quiet: true, threads: 2 });
    assert.equal(kernelThreads(), 2);
    assert.match(describeBackend(), /^wasm \(SIMD, 2 threads[;)]/);
    await useFastestBackend({ quiet: true, threads: 1 });
    assert.equal(kernelThreads(), 1);
    // XNNPACK's pool is fixed when the backend starts: one line says what runs on what.
    assert.match(
      describeBackend(),
      /^wasm \(SIMD, (1 thread[;)]|kernels on 1 thread, XNNPACK on \d threads?: .*fixed when the backend starts)/,
    );
    await withEnv('TFJS_ZARR_THREADS', '2', async () => {
      await useFastestBackend({ quiet: true });
      assert.equal(kernelThreads(), 2);
    });
    await useFastestBackend({ quiet: true, threads: 1 });
  });
});

test('bad thread counts are refused, naming where they came from', async () => {
  await assert.rejects(useFastestBackend({ quiet: true, threads: 0 }), (e: unknown) => {
    assert.ok(e instanceof OptionsError);
    assert.match((e as Error).message, /^threads must be a positive integer, got 0/);
    return true;
  });
  await withEnv('TFJS_ZARR_THREADS', 'many', async () => {
    await assert.rejects(
      useFastestBackend({ quiet: true }),
      /TFJS_ZARR_THREADS must be a positive integer, got "many"/,
    );
  });
});

test('the run config takes threads (null: every core), and --threads overrides it', () => {
  const opts = { source: 'run.json', cwd: '/work' };
  assert.equal(resolveRunConfig({ data: 'd.zarr' }, opts).threads, null);
  assert.equal(resolveRunConfig({ data: 'd.zarr', threads: 3 }, opts).threads, 3);
  assert.equal(resolveRunConfig({ data: 'd.zarr', threads: 3 }, { ...opts, flags: { threads: 1 } }).threads, 1);
  assert.throws(
    () => resolveRunConfig({ data: 'd.zarr', threads: 1.5 }, opts),
    (e: unknown) => e instanceof ConfigError && e.key === 'threads',
  );
  assert.throws(
    () => resolveRunConfig({ data: 'd.zarr' }, { ...opts, flags: { threads: 0 } }),
    (e: unknown) => e instanceof ConfigError && e.key === '--threads',
  );
});
