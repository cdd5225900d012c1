/**
 * The committed kernels are what their source builds to: rebuilding src/kernels/wasm/kernels.c
 * with clang-16 and wasm-ld-16 gives the bytes in src/kernels/kernels-wasm.ts (skipped when the
 * tools are missing; .ci/run installs them). Both modules load and export every kernel.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildKernels, KERNELS_SOURCE_FILE, readKernelsSource } from '../../scripts/build-kernels.js';
import { KERNEL_NAMES, kernelModule } from '../../src/kernels/runtime.js';

function toolsPresent(): boolean {
  try {
    for (const tool of [process.env['CLANG'] ?? 'clang-16', process.env['WASM_LD'] ?? 'wasm-ld-16']) {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    }
    return true;
  } catch {
    return false;
  }
}

test('the committed kernels equal a rebuild of their source', {
  skip: !toolsPresent() && 'clang-16 / wasm-ld-16 not installed',
}, () => {
  const committed = readKernelsSource(readFileSync(KERNELS_SOURCE_FILE, 'utf8'));
  const built = buildKernels();
  assert.ok(
    committed.shared.equals(built.shared),
    `shared-memory module (committed with ${committed.compiler}, rebuilt with ${built.compiler})`,
  );
  assert.ok(committed.single.equals(built.single), 'plain-memory module');
});

test('both modules export every kernel', () => {
  for (const shared of [true, false]) {
    const exports = WebAssembly.Module.exports(kernelModule(shared)).map((e) => e.name);
    assert.deepEqual([...exports].sort(), [...KERNEL_NAMES].sort());
    const memory = WebAssembly.Module.imports(kernelModule(shared));
    assert.deepEqual(
      memory.map((i) => `${i.module}.${i.name}:${i.kind}`),
      ['env.memory:memory'],
    );
  }
});
