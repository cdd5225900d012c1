/**
 * Headless Chromium for tests, through playwright-core and the system's chromium (Debian:
 * `apt-get install chromium`; never a browser download): a fresh profile per launch, the flags
 * CI needs, and what a user would see of a page — its console errors, uncaught exceptions and
 * failed loads.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The flags every launch uses (no sandbox: tests run as root in CI; no GPU: SwiftShader renders). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

/** The system's Chromium: /usr/bin/chromium, else the first on PATH; null when there is none. */
export function findChromium(): string | null {
  const dirs = ['/usr/bin', ...(process.env['PATH'] ?? '').split(path.delimiter)];
  for (const dir of dirs) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = path.join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** The system's Chromium, or an error saying how to install it. */
export function requireChromium(): string {
  const found = findChromium();
  if (!found) throw new Error('the browser tests need Chromium: apt-get install chromium (Debian), then run again');
  return found;
}

export interface LaunchOptions {
  /** WebGPU on (SwiftShader's Vulkan when there is no GPU). */
  webgpu?: boolean;
  /** More flags. */
  args?: string[];
}

export interface Browser {
  context: BrowserContext;
  /**
   * A new page whose console errors, uncaught exceptions and failed requests are collected
   * (except those matching `ignore`).
   */
  page(options?: { ignore?: RegExp }): Promise<{ page: Page; errors: string[]; messages: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-chromium-'));
  const args = [...CHROMIUM_FLAGS, ...(options.webgpu ? ['--enable-unsafe-webgpu'] : []), ...(options.args ?? [])];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: requireChromium(),
    headless: true,
    args,
    acceptDownloads: true,
  });
  // The tests' page.evaluate callbacks are compiled by tsx, which wraps named functions in __name().
  await context.addInitScript('globalThis.__name = (fn) => fn;');
  return {
    context,
    async page({ ignore } = {}) {
      const page = await context.newPage();
      const errors: string[] = [];
      const messages: string[] = [];
      page.on('console', (m) => {
        messages.push(`${m.type()}: ${m.text()}`);
        const error = m.type() === 'error' || m.type() === 'assert';
        if (error && !ignore?.test(m.text())) errors.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`exception: ${e.stack ?? e.message}`));
      page.on('requestfailed', (r) => {
        const why = r.failure()?.errorText ?? '';
        // ERR_ABORTED: the page cancelled the body itself (a 404 it did not read, an abort).
        if (why !== 'net::ERR_ABORTED') errors.push(`failed load: ${r.url()} ${why}`);
      });
      return { page, errors, messages };
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface PageReport {
  title: string;
  images: { src: string; naturalWidth: number; naturalHeight: number }[];
  errors: string[];
}

/** Opens a local HTML file and reports its title, images and errors. */
export async function inspectPage(_chromium: string, file: string, timeoutMs = 30_000): Promise<PageReport> {
  const browser = await launchBrowser();
  try {
    const { page, errors } = await browser.page();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: timeoutMs });
    const report = await page.evaluate(() => ({
      title: document.title,
      images: Array.from(document.images).map((i) => ({
        src: i.src,
        naturalWidth: i.naturalWidth,
        naturalHeight: i.naturalHeight,
      })),
    }));
    return { ...report, errors };
  } finally {
    await browser.close();
  }
}
