/**
 * In a page (headless Chromium, the package bundled by esbuild through its `browser` export,
 * served from 127.0.0.1), openDataSplit reads zarr-python's fixtures exactly as the Node read
 * tests expect — raw, uint64 labels above 2^53, mask — over http, from a picked folder's files
 * (<input webkitdirectory>), from a .zip Blob and from a FileSystemDirectoryHandle; and a server
 * that does not allow the page is named as a CORS failure.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startPageServer } from '../../examples/browser/server.js';
import { assertSplitMeta, assertSplitReads, escapeRegExp, FIXTURES, loadExpected } from '../helpers/fixtures.js';
import type { Page } from 'playwright-core';
import { type LibraryPage, libraryPageDir, openLibraryPage } from '../helpers/library-page.js';
import { remoteSplit } from '../helpers/remote-split.js';

declare const tz: typeof import('../../src/browser.js');

let lib: LibraryPage;

before(async () => {
  lib = await openLibraryPage();
});

after(async () => {
  await lib?.close();
});

test('over http: simple.zarr (raw, uint64 labels, mask) and traintest.zarr read as zarr-python wrote them', async () => {
  for (const name of ['simple', 'traintest']) {
    const split = await remoteSplit(lib.page, { kind: 'url', url: `${lib.server.url}/fixtures/${name}.zarr` }, name);
    const expected = loadExpected(name);
    assertSplitMeta(split, expected);
    await assertSplitReads(split, expected);
  }
  assert.deepEqual(lib.errors, []);
});

test('a picked folder given as files (<input type=file webkitdirectory>) reads the same', async () => {
  await lib.page.locator('#folder').setInputFiles(path.join(FIXTURES, 'simple.zarr'));
  const names = await lib.page.evaluate(() =>
    Array.from((document.querySelector('#folder') as HTMLInputElement).files!, (f) => f.webkitRelativePath).sort(),
  );
  assert.ok(names.includes('simple.zarr/labels/.zarray'), `hidden metadata files are among the picked files: ${names}`);
  const split = await remoteSplit(lib.page, { kind: 'files' }, 'files');
  const expected = loadExpected('simple');
  assertSplitMeta(split, expected);
  await assertSplitReads(split, expected);
});

test('a .zip File/Blob and a FileSystemDirectoryHandle (the origin-private file system) read the same', async () => {
  const expected = loadExpected('simple');
  const zip = await remoteSplit(lib.page, { kind: 'zip', url: `${lib.server.url}/fixtures/simple.zarr.zip` }, 'zip');
  assertSplitMeta(zip, expected);
  await assertSplitReads(zip, expected);

  // Copy the fixture into the origin-private file system: its folders are FileSystemDirectoryHandles.
  const root = path.join(FIXTURES, 'simple.zarr');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  await lib.page.evaluate(
    async ({ files, base }) => {
      const opfs = await navigator.storage.getDirectory();
      await opfs.removeEntry('simple.zarr', { recursive: true }).catch(() => undefined);
      const top = await opfs.getDirectoryHandle('simple.zarr', { create: true });
      for (const file of files) {
        const parts = file.split('/');
        let dir = top;
        for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
        const writable = await (await dir.getFileHandle(parts.at(-1)!, { create: true })).createWritable();
        await writable.write(await (await fetch(`${base}/${file}`)).arrayBuffer());
        await writable.close();
      }
    },
    { files, base: `${lib.server.url}/fixtures/simple.zarr` },
  );
  const handle = await remoteSplit(lib.page, { kind: 'opfs', folder: 'simple.zarr' }, 'opfs');
  assertSplitMeta(handle, expected);
  await assertSplitReads(handle, expected);
  assert.deepEqual(lib.errors, []);
});

test('a server that does not allow the page: the error says CORS and what the server must send', async () => {
  const other = await startPageServer({ mounts: { '/': FIXTURES }, cors: false, isolated: false });
  const plain = await startPageServer({ mounts: { '/': await libraryPageDir() }, isolated: false });
  const open = (page: Page) =>
    page.evaluate(
      (url) =>
        tz.openDataSplit({ path: url, http: { retries: 0 } }).then(
          () => 'opened',
          (e: Error) => `${e.name}: ${e.message}`,
        ),
      `${other.url}/simple.zarr`,
    );
  try {
    // A page that is not cross-origin isolated tells CORS from the network.
    const { page } = await lib.browser.page();
    await page.goto(`${plain.url}/`);
    await page.waitForFunction(() => (globalThis as { libraryReady?: boolean }).libraryReady === true);
    const definite = await open(page);
    assert.match(definite, /^DataFormatError: .*blocked by CORS: the server at http:\/\/127\.0\.0\.1:\d+ answers/);
    assert.match(definite, new RegExp(`Access-Control-Allow-Origin: ${escapeRegExp(plain.url)} \\(or \\*\\)`));
    await page.close();
    // A cross-origin isolated page cannot tell them apart: it names both, with the headers to send.
    const isolated = await open(lib.page);
    assert.match(isolated, /unreachable or does not allow this page \(http:\/\/127\.0\.0\.1:\d+\) by CORS/);
    assert.match(isolated, /Access-Control-Allow-Origin: .*Cross-Origin-Resource-Policy: cross-origin/);
    // The browser logs its own CORS report; nothing else went wrong.
    assert.ok(
      lib.errors.every((e) => /CORS|Failed to load resource|failed load/.test(e)),
      lib.errors.join('\n'),
    );
    lib.errors.length = 0;
  } finally {
    await other.close();
    await plain.close();
  }
});

test('a local path in a page is refused with what to give instead', async () => {
  const message = await lib.page.evaluate(() =>
    tz.openDataSplit('/data/my.zarr').then(
      () => 'opened',
      (e: Error) => e.message,
    ),
  );
  assert.match(
    message,
    /a page cannot open a local path: give an http\(s\) or bucket URL, a folder from showDirectoryPicker/,
  );
  assert.ok(readFileSync(path.join(FIXTURES, 'simple.zarr', '.zgroup')).length > 0);
});
