// No function in src/ passes 120 lines (COMMON standards, issue 20 "Guard it"). A function's length
// is its whole text, nested functions included, from its first line to its last. Today's offenders
// are listed in OVER_LIMIT with their length as a ceiling and a reason: the list only shrinks (an
// entry that is fixed must be deleted, and a listed function may not grow), a new offender fails.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, srcRoot, tsFiles } from '../support/src-imports.js';

const MAX_LINES = 120;

/** `file:function` -> the length it has today (a ceiling) and why it is still long. */
const OVER_LIMIT: Readonly<Record<string, { lines: number; why: string }>> = {};

interface FunctionSize {
  key: string;
  lines: number;
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = (node as { name?: ts.Node }).name;
  if (named && (ts.isIdentifier(named) || ts.isStringLiteral(named) || ts.isPrivateIdentifier(named)))
    return named.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && (ts.isIdentifier(parent.name) || ts.isStringLiteral(parent.name)))
    return parent.name.text;
  if (parent && ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return `<anonymous at line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}>`;
}

/** Every function-like node of a source text with its length in lines; names within a file are qualified by their enclosing functions. */
export function functionSizes(text: string, file: string): FunctionSize[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node, outer: string): void => {
    let scope = outer;
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body !== undefined) {
      const name = nameOf(node, source);
      scope = outer ? `${outer}.${name}` : name;
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ key: `${file}:${scope}`, lines: last - first + 1 });
    } else if (ts.isClassDeclaration(node) && node.name) {
      scope = outer ? `${outer}.${node.name.text}` : node.name.text;
    }
    ts.forEachChild(node, (child) => visit(child, scope));
  };
  visit(source, '');
  return out;
}

describe(`functions in src/ stay within ${MAX_LINES} lines`, () => {
  const sizes = tsFiles(srcRoot).flatMap((f) => functionSizes(readFileSync(f, 'utf8'), relative(repoRoot, f)));
  const over = sizes.filter((s) => s.lines > MAX_LINES);

  it('measures (the parser sees the functions)', () => {
    expect(sizes.length).toBeGreaterThan(500);
    const sample = functionSizes(
      'function a() {\n  const b = () => {\n    return 1;\n  };\n}\nclass C { m() { return 2; } }\n',
      'x.ts',
    );
    expect(sample).toEqual([
      { key: 'x.ts:a', lines: 5 },
      { key: 'x.ts:a.b', lines: 3 },
      { key: 'x.ts:C.m', lines: 1 },
    ]);
  });

  it('has no new function over the limit (split it; the list only shrinks)', () => {
    expect(over.filter((s) => !(s.key in OVER_LIMIT)).map((s) => `${s.key}: ${s.lines} lines`)).toEqual([]);
  });

  it('lets no listed function grow', () => {
    expect(
      over
        .filter((s) => s.key in OVER_LIMIT && s.lines > OVER_LIMIT[s.key]!.lines)
        .map((s) => `${s.key}: ${s.lines} lines, listed at ${OVER_LIMIT[s.key]!.lines}`),
    ).toEqual([]);
  });

  it('lists no function that is within the limit now or gone (delete its entry)', () => {
    const still = new Set(over.map((s) => s.key));
    expect(Object.keys(OVER_LIMIT).filter((k) => !still.has(k))).toEqual([]);
  });
});
