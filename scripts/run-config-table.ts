/**
 * The README's run-config table, made from the schema (src/run/schema.ts): one row per key with
 * its default and what it is for; an object's keys are listed under it.
 *
 * Run:  npm run docs   (rewrites the table between its two markers in README.md)
 *
 * test/run/config-table.test.ts fails when the README's table is not this script's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runConfigSchema } from '../src/run/schema.js';
import { aboutOf, defaultsOf, keysOf, unwrap } from '../src/run/schema-tools.js';

export const TABLE_START = '<!-- run-config-table: made by `npm run docs` from src/run/schema.ts -->';
export const TABLE_END = '<!-- /run-config-table -->';

/** A default as JavaScript would write it: `'same'`, `[16, 48, 48]`, `{ name: 'adam' }`. */
function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k}: ${show(v)}`).join(', ')} }`;
  }
  return String(value);
}

export function runConfigTable(): string {
  const entries = unwrap(runConfigSchema)['entries'] as Record<string, unknown>;
  const defaults = defaultsOf(runConfigSchema);
  const rows = keysOf(runConfigSchema).map((key) => {
    const about = aboutOf(entries[key]);
    const shown = about.shownDefault ?? (key in defaults ? `\`${show(defaults[key])}\`` : 'none');
    const inner = keysOf(entries[key]);
    const keys = inner.length > 0 ? `; keys: ${inner.map((k) => `\`${k}\``).join(', ')}` : '';
    return `| \`${key}\` | ${shown} | ${(about.description ?? '').replaceAll('|', '\\|')}${keys} |`;
  });
  return ['| key | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** `readme` with the table between the markers replaced by the schema's. */
export function withRunConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} section`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${runConfigTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('../README.md', import.meta.url);
  writeFileSync(file, withRunConfigTable(readFileSync(file, 'utf8')));
}
