/**
 * The browser demo's server: the synthetic containers (examples/synthetic, consolidated so a page
 * can find their crops over http) under /data/, and the demo page bundled by esbuild through the
 * package's `browser` export, served on 127.0.0.1 with the COOP/COEP headers threads need.
 */
import * as path from 'node:path';
import { consolidate } from '../synthetic/consolidate.js';
import { ensureDemoContainer } from '../synthetic/write-container.js';
import { buildPage, ROOT } from './build.js';
import { type PageServer, startPageServer } from './server.js';

export interface DemoOptions {
  /** Port (0: any free port). */
  port: number;
  /** Where the containers and the built page go (default demo-data/browser). */
  dir?: string;
  /** The containers to serve (default: both). */
  containers?: (keyof typeof DEMO_CONTAINERS)[];
}

/** The containers the page offers: the demo container, and a tiny one for quick runs. */
export const DEMO_CONTAINERS = { 'demo.zarr': { small: false }, 'demo-small.zarr': { small: true } } as const;

export async function startDemo(options: DemoOptions): Promise<PageServer> {
  const dir = path.resolve(options.dir ?? path.join(ROOT, 'demo-data', 'browser'));
  const names = options.containers ?? (Object.keys(DEMO_CONTAINERS) as (keyof typeof DEMO_CONTAINERS)[]);
  for (const name of names) {
    const { small } = DEMO_CONTAINERS[name];
    const container = path.join(dir, name);
    if (await ensureDemoContainer(container, { small })) await consolidate(container);
  }
  const here = path.join(ROOT, 'examples', 'browser');
  const page = path.join(dir, 'page');
  await buildPage({
    entries: { main: path.join(here, 'main.ts') },
    files: [path.join(here, 'index.html'), path.join(here, 'demo.css')],
    outDir: page,
    minify: true,
  });
  return startPageServer({ mounts: { '/': page, '/data/': dir }, port: options.port });
}
