/**
 * `tfjs-zarr inspect <container>`: lists every crop with, per array, dtype, shape, voxel size,
 * offset, ROI and raw's normalization; on a bad container exits non-zero with the same message
 * as the API's DataFormatError. The output format is free: numbers are matched as sequences with
 * any short separator ([10, 12, 14], 10×12×14, (10,12,14)).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { DataFormatError, openDataSplit } from '../../src/index.js';
import {
  type ArrayExpected,
  fixturePath,
  loadExpected,
  openAndReadAll,
  REPO_ROOT,
  sequenceRegExp,
  type SplitLike,
} from '../helpers/fixtures.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * The part of the output about each crop: every stretch from an occurrence of its name to the
 * next occurrence of any crop name, joined (works for one section per crop, one table row per
 * array, or a summary line followed by sections).
 */
function sections(output: string, names: string[]): Map<string, string> {
  const marks: [string, number][] = [];
  for (const n of names) {
    const re = new RegExp(`${n}(?![0-9A-Za-z_])`, 'g');
    for (const m of output.matchAll(re)) marks.push([n, m.index!]);
    assert.ok(
      marks.some(([k]) => k === n),
      `output lists crop ${n}:\n${output}`,
    );
  }
  marks.sort((a, b) => a[1] - b[1]);
  const out = new Map<string, string>(names.map((n) => [n, '']));
  marks.forEach(([n, i], k) => {
    out.set(n, `${out.get(n)}\n${output.slice(i, k + 1 < marks.length ? marks[k + 1]![1] : undefined)}`);
  });
  return out;
}

function assertArrayListed(section: string, a: ArrayExpected, where: string): void {
  assert.match(section, new RegExp(`\\b${a.dtype}\\b`), `${where}: dtype ${a.dtype}`);
  assert.match(section, sequenceRegExp(a.shape), `${where}: shape ${a.shape}`);
  assert.match(section, sequenceRegExp(a.voxel_size), `${where}: voxel size ${a.voxel_size}`);
  assert.match(section, sequenceRegExp(a.offset), `${where}: offset ${a.offset}`);
  const end = a.roi.offset.map((o, i) => o + a.roi.shape[i]!);
  assert.ok(
    sequenceRegExp(a.roi.shape).test(section) || sequenceRegExp(end).test(section),
    `${where}: ROI (shape ${a.roi.shape} or end ${end} in world units)`,
  );
}

describe('cli inspect', () => {
  test('lists each crop of crops.zarr with dtype, shape, voxel size, offset, ROI and normalization', async () => {
    const run = await runCli(['inspect', fixturePath('crops.zarr')]);
    assert.equal(run.code, 0, `exit code 0; stderr:\n${run.stderr}`);
    const exp = loadExpected('crops');
    const crops = [...exp.train, ...exp.test];
    const bySection = sections(
      run.stdout,
      crops.map((c) => c.name!),
    );
    for (const c of crops) {
      const s = bySection.get(c.name!)!;
      assertArrayListed(s, c.arrays.raw, `${c.name} raw`);
      assertArrayListed(s, c.arrays.labels, `${c.name} labels`);
      if (c.arrays.mask) assertArrayListed(s, c.arrays.mask, `${c.name} mask`);
      const norm = c.arrays.raw.normalization;
      if (norm === '/255' || norm === '/65535') {
        // '/255', '/ 255', 'x / 255'
        assert.match(s, new RegExp(`/\\s*${norm.slice(1)}(?!\\d)`), `${c.name}: raw normalization ${norm}`);
      }
    }
    // train and test are told apart
    assert.match(run.stdout, /train/i);
    assert.match(run.stdout, /test|validat/i);
  });

  test("an N5 container: the format, each array's metadata convention, levels picked by voxel size", async () => {
    const run = await runCli([
      'inspect',
      fixturePath('n5/cosem.n5'),
      '--raw',
      'em/fibsem-uint8',
      '--labels',
      'labels/mito_seg',
      '--raw-voxel-size',
      '4,4,4',
      '--voxel-size',
      '8,8,8',
    ]);
    assert.equal(run.code, 0, `exit code 0; stderr:\n${run.stderr}`);
    assert.match(run.stdout, /\(N5, simple layout\)/);
    assert.match(run.stdout, /em\/fibsem-uint8\/s0 .*\n.*voxel size \[4, 4, 4\]/);
    assert.match(run.stdout, /labels\/mito_seg\/s1 .*\n.*voxel size \[8, 8, 8\]/);
    assert.match(run.stdout, /metadata: COSEM multiscales, level s0 \(axes \[z, y, x\], ordering C\)/);
    assert.match(run.stdout, /metadata: COSEM multiscales, level s1 .*read as offset \[8, 16, 16\]/);
    const gunpowder = await runCli(['inspect', fixturePath('n5/gunpowder.n5')]);
    assert.match(gunpowder.stdout, /metadata: gunpowder \(resolution, offset; N5 order, reversed\)/);
  });

  for (const bad of ['bad_voxel_size.zarr', 'bad_raw_only.zarr']) {
    test(`${bad}: non-zero exit and the API's message`, async () => {
      const p = fixturePath(bad);
      let apiError: unknown;
      try {
        await openAndReadAll((q) => openDataSplit(q) as unknown as Promise<SplitLike>, p);
      } catch (e) {
        apiError = e;
      }
      assert.ok(apiError instanceof DataFormatError, `the API rejects ${bad} with a DataFormatError`);
      const run = await runCli(['inspect', p]);
      assert.notEqual(run.code, 0, 'non-zero exit');
      assert.ok(
        (run.stderr + run.stdout).includes(apiError.message),
        `prints the API message\n  ${apiError.message}\ngot stderr:\n${run.stderr}\nstdout:\n${run.stdout}`,
      );
    });
  }
});
