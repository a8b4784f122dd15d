// What a source file imports, read with TypeScript's own scanner, for the layer and purity tests
// (test/unit/imports.test.ts, pure-core.test.ts). One parser for every import form: `import 'x'`,
// `import x from 'x'`, `import type`, `export ... from 'x'`, `import('x')`, `typeof import('x')`,
// `import x = require('x')` and `require('x')`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const srcRoot = join(repoRoot, 'src');

export function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Every module specifier in a source text, as written, from a full parse (ts.preProcessFile's
 * light scanner loses its way after a regex literal holding a quote, and then misses imports).
 */
export function importsIn(text: string, fileName = 'x.ts'): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const literal = (n: ts.Node | undefined): void => {
    if (n && ts.isStringLiteralLike(n)) found.push(n.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      literal(node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) literal(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

export function importsOf(file: string): string[] {
  return importsIn(readFileSync(file, 'utf8'), file);
}

/**
 * The folder of src a path belongs to, subfolders included ('core', 'core/scheduler',
 * 'runtimes/builtin'; '' for a file directly in src/), or undefined outside src/.
 */
export function unitOf(path: string): string | undefined {
  const rel = relative(srcRoot, path);
  if (rel.startsWith('..')) return undefined;
  const dir = dirname(rel);
  return dir === '.' ? '' : dir;
}

export interface ImportEdge {
  /** the importing file, relative to the repository */
  file: string;
  /** the specifier as written */
  spec: string;
  /** the importing file's unit (unitOf) */
  from: string;
  /** for a relative import: the target relative to the repository, and its unit (undefined outside src/) */
  target?: string;
  to?: string;
}

export function importEdges(dir = srcRoot): ImportEdge[] {
  return tsFiles(dir).flatMap((file) =>
    importsOf(file).map((spec): ImportEdge => {
      const edge: ImportEdge = { file: relative(repoRoot, file), spec, from: unitOf(file) ?? '' };
      if (!spec.startsWith('.')) return edge;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const to = unitOf(target);
      return { ...edge, target: relative(repoRoot, target), ...(to === undefined ? {} : { to }) };
    }),
  );
}
