/**
 * Decode benchmark: one compressible 64^3 blosc chunk per case (bench/make_decode_chunks.py, made
 * once in bench/data/decode/), decoded by numcodecs' unchecked wasm decoder (zarrita's default),
 * by tfjs-zarr's checked one (zarr/codecs/checked.ts: frame and streams verified) and by Python's
 * numcodecs (C-Blosc, as zarr-python decodes; at its best, bench/python.ts; its own thread count),
 * in alternating rounds after a warm-up; MB/s of decoded bytes, median of the rounds, and the ratios.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import { bloscHeader } from '../src/zarr/codecs/blosc.js';
import { blosc as checkedBlosc } from '../src/zarr/codecs/checked.js';
import { PythonServer } from './python.js';

const here = path.dirname(new URL(import.meta.url).pathname);

interface Codec {
  decode(data: Uint8Array): Promise<Uint8Array>;
}
type Loader = () => Promise<{ fromConfig(config: unknown, meta: unknown): Codec }>;

async function blosc(): Promise<Codec> {
  const Blosc = await (zarr.registry.get('blosc') as unknown as Loader)();
  return Blosc.fromConfig({ cname: 'lz4', clevel: 5, shuffle: 1, blocksize: 0 }, {});
}

async function mbPerSecond(codec: Codec, data: Uint8Array, ms: number): Promise<number> {
  const t = performance.now();
  let n = 0;
  while (performance.now() - t < ms) {
    await codec.decode(data);
    n++;
  }
  return (n * bloscHeader(data).nbytes) / ((performance.now() - t) / 1000) / 1e6;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

export async function benchDecode(rounds = 5): Promise<Record<string, number | string>> {
  const dir = path.join(here, 'data', 'decode');
  if (!existsSync(dir))
    execFileSync('/usr/bin/python3', [path.join(here, 'make_decode_chunks.py'), dir], { stdio: 'inherit' });
  const unchecked = await blosc(); // zarrita's registry: numcodecs' wasm decoder
  const checked: Codec = { decode: checkedBlosc };
  const results: Record<string, number | string> = {};
  const numcodecs = await PythonServer.start(
    path.join(here, 'decode_numcodecs.py'),
    ['--serve', dir],
    'Python numcodecs',
  );
  try {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.blosc'))
      .sort()) {
      const data = new Uint8Array(readFileSync(path.join(dir, file)));
      const name = file.replace(/\.blosc$/, '');
      for (let i = 0; i < 20; i++) await Promise.all([unchecked.decode(data), checked.decode(data)]); // warm up
      const a: number[] = [];
      const b: number[] = [];
      const py: number[] = [];
      const pyCpu: number[] = [];
      for (let r = 0; r < rounds; r++) {
        a.push(await mbPerSecond(unchecked, data, 300));
        b.push(await mbPerSecond(checked, data, 300));
        if (numcodecs) {
          const answer = await numcodecs.ask(`${name} 300`);
          py.push(answer['MBps']!);
          pyCpu.push(answer['cpuMBps']!);
        }
      }
      results[`${name} unchecked MB/s`] = median(a);
      results[`${name} checked MB/s`] = median(b);
      results[`${name} checked / unchecked`] = median(b) / median(a);
      if (numcodecs) {
        results[`${name} Python numcodecs MB/s`] = median(py);
        results[`${name} Python numcodecs MB per CPU second`] = median(pyCpu);
        results[`${name} checked / Python numcodecs`] = median(b) / median(py);
      }
    }
  } finally {
    numcodecs?.close();
  }
  return results;
}
