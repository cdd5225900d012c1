/**
 * Functions in src/ over 80 lines or with more than 6 positional parameters (the code style's
 * limits), each with its file, line, length and parameter count. A function whose body's first
 * lines or whose doc comment hold "(long:" or "(params:" followed by a reason is listed as
 * explained.
 *
 * Run:  node --import tsx scripts/long-functions.ts [dir]   (exit code 1 when an unexplained one is found)
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_LINES = 80;
const MAX_PARAMS = 6;

export interface Finding {
  file: string;
  line: number;
  name: string;
  lines: number;
  params: number;
  explained: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

export function findings(dir: string): Finding[] {
  const out: Finding[] = [];
  for (const file of filesUnder(dir)) {
    const text = readFileSync(file, 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const lines = end - start + 1;
        const params = node.parameters.length;
        if (lines > MAX_LINES || params > MAX_PARAMS) {
          const around = text.slice(node.getFullStart(), node.getStart(source) + 400);
          out.push({
            file: path.relative(process.cwd(), file),
            line: start + 1,
            name: nameOf(node, source),
            lines,
            params,
            explained: /\((long|params):/.test(around),
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'src';
  const found = findings(dir);
  for (const f of found) {
    const what = [f.lines > MAX_LINES ? `${f.lines} lines` : '', f.params > MAX_PARAMS ? `${f.params} params` : '']
      .filter(Boolean)
      .join(', ');
    console.log(`${f.file}:${f.line} ${f.name}: ${what}${f.explained ? ' (explained)' : ''}`);
  }
  process.exitCode = found.some((f) => !f.explained) ? 1 : 0;
}
