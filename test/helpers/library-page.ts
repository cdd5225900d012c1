/**
 * The library page of the browser tests (test/browser/pages/): bundled once per test process like
 * a user's page, served from 127.0.0.1 with the test fixtures under /fixtures/, and opened in
 * headless Chromium with `tz` (the package) and `tf` ready.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { buildPage, ROOT } from '../../examples/browser/build.js';
import { startPageServer, type PageServer } from '../../examples/browser/server.js';
import { type Browser, launchBrowser } from './browser.js';

let built: Promise<string> | null = null;

/** The bundled page's folder (built on first use; removed when the process exits). */
export function libraryPageDir(): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-page-'));
    process.once('exit', () => void rm(outDir, { recursive: true, force: true }));
    const pages = path.join(ROOT, 'test', 'browser', 'pages');
    await buildPage({
      entries: { library: path.join(pages, 'library.ts') },
      files: [path.join(pages, 'index.html')],
      outDir,
    });
    return outDir;
  })();
  return built;
}

/** Chromium's console report of each 404, which zarr readers cause by design. */
const NOT_FOUND = /Failed to load resource: the server responded with a status of 404/;

export interface LibraryPage {
  page: Page;
  /**
   * Console errors, uncaught exceptions and failed loads so far, without the browser's report of
   * each 404 (zarr readers probe for metadata files and missing chunks are 404s).
   */
  errors: string[];
  /** Every console message so far. */
  messages: string[];
  server: PageServer;
  browser: Browser;
  close(): Promise<void>;
}

export interface LibraryPageOptions {
  /** Cross-origin isolated (COOP/COEP: SharedArrayBuffer, wasm threads). Default true. */
  isolated?: boolean;
  /** WebGPU enabled in the browser. Default false. */
  webgpu?: boolean;
  /** More folders to serve: URL prefix → folder. */
  mounts?: Record<string, string>;
}

export async function openLibraryPage(options: LibraryPageOptions = {}): Promise<LibraryPage> {
  const dir = await libraryPageDir();
  const server = await startPageServer({
    mounts: { '/': dir, '/fixtures/': path.join(ROOT, 'test', 'fixtures'), ...options.mounts },
    isolated: options.isolated ?? true,
  });
  const browser = await launchBrowser({ webgpu: options.webgpu });
  try {
    const { page, errors, messages } = await browser.page({ ignore: NOT_FOUND });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (globalThis as { libraryReady?: boolean }).libraryReady === true);
    return {
      page,
      errors,
      messages,
      server,
      browser,
      async close() {
        await browser.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser.close();
    await server.close();
    throw e;
  }
}
