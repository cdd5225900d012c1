/**
 * The API report: every name src/index.ts exports, with its declaration as the TypeScript compiler
 * sees it (functions and methods as signatures without bodies, classes without their private
 * members, interfaces and types as declared, comments left out), in api/tfjs-zarr.api.md.
 *
 * Run:  npm run api   (rewrites the report; commit it with the change to the API)
 *
 * test/api-report.test.ts fails when the committed report is not this script's output: a change
 * to an exported name or type is then a visible change to this file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPORT_PATH = new URL('../api/tfjs-zarr.api.md', import.meta.url);
const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
/** The checkout's path, which the checker prints in `import("…")` types: the report must not depend on it. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const FLAGS = ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.UseStructuralFallback;

function compilerOptions(): ts.CompilerOptions {
  const { config } = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('..', import.meta.url))).options;
}

const isHidden = (m: ts.ClassElement) =>
  (ts.getCombinedModifierFlags(m as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 ||
  (m.name !== undefined && ts.isPrivateIdentifier(m.name));

/** What printing a declaration needs from the checker: types a declaration leaves to inference. */
interface Typer {
  returnType(d: ts.SignatureDeclaration): ts.TypeNode | undefined;
  typeOf(d: ts.Declaration): ts.TypeNode | undefined;
  /** Parameters as a declaration file has them: a default value is an optional parameter. */
  parameters(ps: ts.NodeArray<ts.ParameterDeclaration>): ts.ParameterDeclaration[];
}

function typer(checker: ts.TypeChecker): Typer {
  const f = ts.factory;
  const typeOf = (d: ts.Declaration) => checker.typeToTypeNode(checker.getTypeAtLocation(d), d, FLAGS);
  return {
    returnType: (d) => {
      if (d.type) return d.type;
      const signature = checker.getSignatureFromDeclaration(d);
      return signature ? checker.typeToTypeNode(checker.getReturnTypeOfSignature(signature), d, FLAGS) : undefined;
    },
    typeOf,
    parameters: (ps) =>
      ps.map((p) =>
        f.updateParameterDeclaration(
          p,
          ts
            .getModifiers(p)
            ?.filter((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword || m.kind === ts.SyntaxKind.PublicKeyword),
          p.dotDotDotToken,
          p.name,
          p.initializer ? f.createToken(ts.SyntaxKind.QuestionToken) : p.questionToken,
          p.type ?? typeOf(p),
          undefined,
        ),
      ),
  };
}

/** A declaration as the report shows it: bodies and private members left out, types spelled out. */
function outline(decl: ts.Declaration, checker: ts.TypeChecker): ts.Node {
  const f = ts.factory;
  const t = typer(checker);
  if (ts.isFunctionDeclaration(decl)) {
    return f.updateFunctionDeclaration(
      decl,
      decl.modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.AsyncKeyword),
      decl.asteriskToken,
      decl.name,
      decl.typeParameters,
      t.parameters(decl.parameters),
      t.returnType(decl),
      undefined,
    );
  }
  if (ts.isClassDeclaration(decl)) {
    const members = decl.members.filter((m) => !isHidden(m)).map((m) => classMember(m, t));
    return f.updateClassDeclaration(
      decl,
      decl.modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword),
      decl.name,
      decl.typeParameters,
      decl.heritageClauses,
      members,
    );
  }
  if (ts.isVariableDeclaration(decl)) {
    const type = t.typeOf(decl);
    return f.createVariableStatement(
      undefined,
      f.createVariableDeclarationList([f.createVariableDeclaration(decl.name, undefined, type)], ts.NodeFlags.Const),
    );
  }
  if (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl) || ts.isEnumDeclaration(decl)) {
    const modifiers = decl.modifiers?.filter((m) => m.kind !== ts.SyntaxKind.ExportKeyword);
    if (ts.isInterfaceDeclaration(decl)) {
      return f.updateInterfaceDeclaration(
        decl,
        modifiers,
        decl.name,
        decl.typeParameters,
        decl.heritageClauses,
        decl.members,
      );
    }
    if (ts.isTypeAliasDeclaration(decl)) {
      return f.updateTypeAliasDeclaration(decl, modifiers, decl.name, decl.typeParameters, decl.type);
    }
    return f.updateEnumDeclaration(decl, modifiers, decl.name, decl.members);
  }
  return decl;
}

function classMember(m: ts.ClassElement, t: Typer): ts.ClassElement {
  const f = ts.factory;
  const modifiers = (ts.canHaveModifiers(m) ? ts.getModifiers(m) : undefined)?.filter(
    (x) => x.kind !== ts.SyntaxKind.AsyncKeyword && x.kind !== ts.SyntaxKind.OverrideKeyword,
  );
  if (ts.isMethodDeclaration(m)) {
    return f.updateMethodDeclaration(
      m,
      modifiers,
      m.asteriskToken,
      m.name,
      m.questionToken,
      m.typeParameters,
      t.parameters(m.parameters),
      t.returnType(m),
      undefined,
    );
  }
  if (ts.isConstructorDeclaration(m)) {
    return f.updateConstructorDeclaration(m, modifiers, t.parameters(m.parameters), undefined);
  }
  if (ts.isGetAccessorDeclaration(m)) {
    return f.updateGetAccessorDeclaration(m, modifiers, m.name, m.parameters, t.returnType(m), undefined);
  }
  if (ts.isSetAccessorDeclaration(m)) {
    return f.updateSetAccessorDeclaration(m, modifiers, m.name, t.parameters(m.parameters), undefined);
  }
  if (ts.isPropertyDeclaration(m)) {
    return f.updatePropertyDeclaration(m, modifiers, m.name, m.questionToken, m.type ?? t.typeOf(m), undefined);
  }
  return m;
}

/**
 * Types declared in this project that exported declarations refer to without exporting them
 * (their changes change the API too), found through every type reference and heritage clause.
 */
function referencedTypes(roots: readonly ts.Declaration[], exported: ReadonlySet<ts.Symbol>, checker: ts.TypeChecker) {
  const found = new Map<ts.Symbol, ts.Declaration[]>();
  const queue = [...roots];
  const visit = (node: ts.Node) => {
    // What callers see only: no bodies, no initializers, no private members.
    if (ts.isClassElement(node) && isHidden(node)) return;
    if (ts.isBlock(node)) return;
    const name = ts.isTypeReferenceNode(node)
      ? node.typeName
      : ts.isExpressionWithTypeArguments(node)
        ? node.expression
        : undefined;
    if (name) {
      let symbol = checker.getSymbolAtLocation(name);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const decls = (symbol?.declarations ?? []).filter((d) => !d.getSourceFile().fileName.includes('node_modules'));
      if (symbol && decls.length > 0 && !exported.has(symbol) && !found.has(symbol)) {
        const typeDecls = decls.filter((d) => !ts.isTypeParameterDeclaration(d));
        if (typeDecls.length > 0) {
          found.set(symbol, typeDecls);
          queue.push(...typeDecls);
        }
      }
    }
    ts.forEachChild(node, (child) => {
      const parent = child.parent as { initializer?: ts.Node };
      if (parent?.initializer !== child) visit(child);
    });
  };
  while (queue.length > 0) visit(queue.shift()!);
  return [...found.entries()].sort(([a], [b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * What a computed type comes to (a type alias of a mapped or inferred type, an interface that
 * extends one), member by member: a change there changes the API without touching the declaration.
 */
function resolvedForm(decl: ts.Declaration, checker: ts.TypeChecker): string | null {
  const generic = (decl as ts.TypeAliasDeclaration).typeParameters !== undefined;
  const computed =
    (ts.isTypeAliasDeclaration(decl) &&
      !generic &&
      !ts.isTypeLiteralNode(decl.type) &&
      !ts.isUnionTypeNode(decl.type)) ||
    (ts.isInterfaceDeclaration(decl) && (decl.heritageClauses?.length ?? 0) > 0);
  if (!computed) return null;
  const type = checker.getTypeAtLocation((decl as ts.TypeAliasDeclaration | ts.InterfaceDeclaration).name);
  const text = checker.typeToString(
    type,
    decl,
    ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.MultilineObjectLiterals,
  );
  const isObject = (type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) !== 0;
  if (isObject && !text.includes('{')) {
    // An interface prints as its name: list its members.
    const members = checker
      .getPropertiesOfType(type)
      .map((p) => {
        const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
        const t = checker.typeToString(
          checker.getTypeOfSymbolAtLocation(p, decl),
          decl,
          ts.TypeFormatFlags.NoTruncation,
        );
        return `    ${p.name}${optional}: ${t};`;
      })
      .sort();
    return `// resolved:\n// {\n${members.map((m) => `//${m}`).join('\n')}\n// }`;
  }
  return `// resolved:\n${text
    .split('\n')
    .map((l) => `// ${l}`)
    .join('\n')}`;
}

/** The report's text. */
export function apiReport(): string {
  const program = ts.createProgram([ENTRY], compilerOptions());
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY);
  if (!source) throw new Error(`cannot read ${ENTRY}`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${ENTRY} is not a module`);
  const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
  const printOne = (d: ts.Declaration) => {
    const text = printer.printNode(ts.EmitHint.Unspecified, outline(d, checker), d.getSourceFile());
    const resolved = resolvedForm(d, checker);
    return resolved ? `${text}\n${resolved}` : text;
  };
  const print = (name: string, decls: readonly ts.Declaration[]) => `// ${name}\n${decls.map(printOne).join('\n')}`;
  const exports = checker.getExportsOfModule(module).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const resolved = exports.map((e) => ({
    name: e.name,
    symbol: e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e,
  }));
  const exported = new Set(resolved.map((r) => r.symbol));
  const referenced = referencedTypes(
    resolved.flatMap((r) => r.symbol.declarations ?? []),
    exported,
    checker,
  );
  return (
    [
      '# tfjs-zarr: API report',
      '',
      'Every name `src/index.ts` exports, with its declaration (made by `npm run api`, checked by',
      '`test/api-report.test.ts`; do not edit by hand), then the types of this package those',
      'declarations use without exporting them.',
      '',
      '## Exported',
      '',
      '```ts',
      resolved.map((r) => print(r.name, r.symbol.declarations ?? [])).join('\n\n'),
      '```',
      '',
      '## Used by the exported declarations, not exported',
      '',
      '```ts',
      referenced.map(([symbol, decls]) => print(symbol.name, decls)).join('\n\n'),
      '```',
      '',
    ]
      .join('\n')
      .replaceAll(`import("${ROOT}`, 'import("./')
      // Well-known symbols print with the checker's internal ids (`__@iterator@3824`), which move
      // whenever any source file changes: the report keeps the name only.
      .replace(/(__@\w+)@\d+/g, '$1')
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(REPORT_PATH, apiReport());
  console.log(`wrote ${fileURLToPath(REPORT_PATH)}`);
}

/** The committed report (for the test). */
export function committedReport(): string {
  return readFileSync(REPORT_PATH, 'utf8');
}
