import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataSplit } from '../src/index.js';
async function main() {
  const dir = 'test/fixtures/broken';
  console.warn = () => {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.expected.json')).sort()) {
    const e = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    if (e.expect !== 'error') continue;
    const name = f.replace('.expected.json', '');
    const c = fs.existsSync(path.join(dir, name + '.zarr')) ? name + '.zarr' : name + '.zip';
    try {
      const s = await openDataSplit(path.join(dir, c));
      const v = [s.train[0]!.raw, s.train[0]!.labels].find((v) => v.path === e.array)!;
      await v.read(v.roi);
      console.log(name, 'NO ERROR');
    } catch (err) { console.log(`${name}: ${(err as Error).message.replace(/^.*broken\//, '')}`); }
  }
}
main();
