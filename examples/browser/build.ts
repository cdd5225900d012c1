/**
 * Builds a page that uses the package as a user's bundler would: esbuild bundles the page's
 * script for the browser, resolving `tfjs-zarr` through package.json's `browser` export (dist/,
 * rebuilt first when a source is newer), and the wasm backend's .wasm files are copied next to the
 * page, where tfjs looks for them by default. Used by `npm run demo:browser` and the browser tests.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Runs the package build (tsc + the web worker bundle) when dist/ is missing or older than src/. */
export function ensurePackageBuilt(): void {
  const marker = path.join(ROOT, 'dist', 'train', 'workers', 'web-worker-source.js');
  const built = statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'package.json')).mtimeMs);
  if (built > sources) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build-web-worker.ts')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface PageBuild {
  /** Script entries: output name (without .js) → source file. */
  entries: Record<string, string>;
  /** Files copied as they are into the page's folder (index.html, …). */
  files?: string[];
  outDir: string;
  minify?: boolean;
}

/** Bundles the page's scripts into `outDir` with the wasm backend's binaries beside them. */
export async function buildPage(page: PageBuild): Promise<void> {
  ensurePackageBuilt();
  mkdirSync(page.outDir, { recursive: true });
  await build({
    entryPoints: page.entries,
    outdir: page.outDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: page.minify ?? false,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const file of page.files ?? []) copyFileSync(file, path.join(page.outDir, path.basename(file)));
  const wasmDist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  for (const name of readdirSync(wasmDist)) {
    if (name.endsWith('.wasm')) copyFileSync(path.join(wasmDist, name), path.join(page.outDir, name));
  }
}
