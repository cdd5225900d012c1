/**
 * The core can be bundled for a browser later: nothing in src/zarr, src/train, src/eval,
 * src/kernels or src/models imports a `node:` module, except the file-system and zip stores, the
 * checkpoint/score writers and the worker-thread adapters; and
 * the pure entry points do not reach one through their static imports (stores are loaded by
 * dynamic import, `import type` is erased).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Files (relative to src) that may import node: modules. */
const NODE_ALLOWED = new Set([
  'zarr/stores/directory.ts',
  'zarr/stores/zip.ts',
  'zarr/write/file-store.ts',
  'eval/checkpoint.ts',
  'eval/model-files.ts',
  'eval/scores.ts',
  // The worker pool's one Node adapter (worker_threads); train/dataset.ts loads it by dynamic import.
  'train/workers/node.ts',
  // The kernel thread pool's one Node adapter (worker_threads), passed in by backend.ts.
  'kernels/node-threads.ts',
]);

/** Modules a browser bundle would start from. */
const PURE_ENTRY_POINTS = [
  'zarr/index.ts',
  'train/dataset.ts',
  'train/loss.ts',
  'eval/predict.ts',
  'eval/postprocess.ts',
  'eval/voi.ts',
  'kernels/ops.ts',
  'kernels/threads.ts',
  'kernels/worker.ts',
  'models/unet.ts',
];

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(SRC, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(SRC, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** Module specifiers of a file: static value imports/re-exports and dynamic imports. */
function imports(file: string): { statics: string[]; dynamics: string[] } {
  const source = readFileSync(path.join(SRC, file), 'utf8');
  const statics: string[] = [];
  for (const m of source.matchAll(/^\s*(import|export)\s+(type\s)?[^;'"]*?from\s+'([^']+)'/gm)) {
    if (!m[2]) statics.push(m[3]!);
  }
  for (const m of source.matchAll(/^\s*import\s+'([^']+)'/gm)) statics.push(m[1]!);
  const dynamics = [...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return { statics, dynamics };
}

function resolveRelative(from: string, specifier: string): string {
  return path.posix.join(path.posix.dirname(from), specifier).replace(/\.js$/, '.ts');
}

test('only the stores, the checkpoint/score writers and the thread adapters import node: modules', () => {
  const offenders: string[] = [];
  for (const file of ['zarr', 'train', 'eval', 'kernels', 'models'].flatMap(filesUnder)) {
    if (NODE_ALLOWED.has(file)) continue;
    const { statics, dynamics } = imports(file);
    for (const s of [...statics, ...dynamics]) if (s.startsWith('node:')) offenders.push(`${file} imports ${s}`);
  }
  assert.deepEqual(offenders, []);
});

test('the pure entry points reach no node: module through static imports', () => {
  for (const entry of PURE_ENTRY_POINTS) {
    const seen = new Set<string>();
    const visit = (file: string, via: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const s of imports(file).statics) {
        assert.ok(!s.startsWith('node:'), `${[...via, file].join(' → ')} imports ${s}`);
        if (s.startsWith('.')) visit(resolveRelative(file, s), [...via, file]);
      }
    };
    visit(entry, []);
    assert.ok(seen.size > 1 || entry === 'eval/voi.ts', `${entry}: imports were found`);
  }
});

test('the import scanner sees static, type-only and dynamic imports', () => {
  // zarr/stores/index.ts loads each store by dynamic import; checkpoint.ts imports node:fs statically.
  assert.ok(imports('zarr/stores/index.ts').dynamics.includes('./directory.js'));
  assert.ok(imports('eval/checkpoint.ts').statics.includes('node:fs'));
  assert.ok(!imports('zarr/split.ts').statics.includes('@zarrita/storage'), 'import type is not a static import');
});
