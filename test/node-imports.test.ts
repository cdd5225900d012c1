/**
 * The core bundles for a page: nothing in src/zarr, src/train, src/eval, src/rundir, src/kernels
 * or src/models imports a `node:` module except the Node implementations of the platform seams;
 * the pure entry points do not reach one through their static imports (stores are loaded by
 * dynamic import, `import type` is erased); and the browser entry, with package.json's `browser`
 * field applied as bundlers apply it, reaches none through any import, static or dynamic.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Files (relative to src) that may import node: modules. */
const NODE_ALLOWED = new Set([
  'zarr/stores/directory.ts',
  'zarr/stores/zip.ts',
  'zarr/write/file-store.ts',
  'eval/model-files.ts',
  'rundir/file-run-dir.ts',
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
  'eval/predict-crop.ts',
  'eval/postprocess.ts',
  'eval/voi.ts',
  'kernels/ops.ts',
  'kernels/threads.ts',
  'kernels/worker.ts',
  'models/unet.ts',
  'train/workers/web-worker.ts',
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
  for (const file of ['zarr', 'train', 'eval', 'rundir', 'kernels', 'models'].flatMap(filesUnder)) {
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

/** package.json's `browser` field as source paths: 'zarr/stores/local.ts' → 'zarr/stores/local.browser.ts'. */
function browserMap(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(SRC, '..', 'package.json'), 'utf8')) as {
    browser: Record<string, string>;
  };
  const source = (p: string) => p.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
  return new Map(Object.entries(pkg.browser).map(([from, to]) => [source(from), source(to)]));
}

test('the browser entry, with the browser field applied, reaches no node: module through any import', () => {
  const map = browserMap();
  for (const [from, to] of map) {
    assert.ok(existsSync(path.join(SRC, from)) && existsSync(path.join(SRC, to)), `browser field: ${from} → ${to}`);
  }
  const seen = new Set<string>();
  const visit = (file: string, via: string[]): void => {
    const mapped = map.get(file) ?? file;
    if (seen.has(mapped)) return;
    seen.add(mapped);
    const { statics, dynamics } = imports(mapped);
    for (const s of [...statics, ...dynamics]) {
      assert.ok(!s.startsWith('node:'), `${[...via, mapped].join(' → ')} imports ${s}`);
      if (s.startsWith('.')) visit(resolveRelative(mapped, s), [...via, mapped]);
    }
  };
  visit('browser.ts', []);
  // The seams' browser sides are what the page gets.
  for (const to of map.values()) if (to !== 'browser.ts') assert.ok(seen.has(to) || to === 'backend-browser.ts', to);
  assert.ok(seen.has('backend-browser.ts'));
});

test('the import scanner sees static, type-only and dynamic imports', () => {
  // zarr/stores/local.ts loads each local store by dynamic import; rundir/file-run-dir.ts imports node:fs statically.
  assert.ok(imports('zarr/stores/local.ts').dynamics.includes('./directory.js'));
  assert.ok(imports('rundir/file-run-dir.ts').statics.includes('node:fs'));
  assert.ok(!imports('zarr/split.ts').statics.includes('@zarrita/storage'), 'import type is not a static import');
});
