// Imports point down only (STYLE.md, DESIGN.md "Layout"): every import in src/**.ts is parsed with
// TypeScript's own scanner and checked against the layer order below. A folder may import its own
// files and any lower layer; `client` (what a user's entrypoint imports) only protocol and core.
// KNOWN_VIOLATIONS is empty since the restructure (protocol, launcher interface and signals moved
// down); the test fails on any new violation and on a listed one that no longer occurs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LAYERS: readonly (readonly string[])[] = [['cli'], ['launchers'], ['controller', 'agent'], ['runtimes', 'slurm', 'render'], ['protocol', 'proc', 'jobdir'], ['core']];
const ONLY: Readonly<Record<string, readonly string[]>> = { client: ['protocol', 'core'] };

const KNOWN_VIOLATIONS: readonly string[] = [
];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module a file imports (static, type-only, re-exports, dynamic import()), as written. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The src folder a path belongs to ('' for files directly in src/), or undefined outside src/. */
function folderOf(path: string): string | undefined {
  const rel = relative(join(root, 'src'), path);
  if (rel.startsWith('..')) return undefined;
  const parts = rel.split('/');
  return parts.length > 1 ? parts[0] : '';
}

function layerOf(folder: string): number | undefined {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  return i < 0 ? undefined : i;
}

function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  const only = ONLY[from];
  if (only) return only.includes(to);
  const a = layerOf(from);
  const b = layerOf(to);
  return a !== undefined && b !== undefined && b > a;
}

function edges(): Array<{ file: string; target: string; from: string; to: string }> {
  const out: Array<{ file: string; target: string; from: string; to: string }> = [];
  for (const file of tsFiles(join(root, 'src'))) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue; // node: and packages are another test's business (pure-core)
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === undefined || to === undefined) continue; // templates and the like
      out.push({ file: relative(root, file), target: relative(root, target), from, to });
    }
  }
  return out;
}

describe('import directions', () => {
  const all = edges();
  const violations = all.filter((e) => !allowed(e.from, e.to)).map((e) => `${e.file} -> ${e.target}`);

  it('sees the imports (the parser and the resolution work)', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContainEqual({ file: 'src/cli/main.ts', target: expect.stringMatching(/^src\//), from: 'cli', to: expect.any(String) });
    for (const e of all) expect(layerOf(e.from) !== undefined || e.from in ONLY, `folder ${e.from} has no layer`).toBe(true);
  });

  it('checks the rule itself on examples', () => {
    expect(allowed('cli', 'core')).toBe(true);
    expect(allowed('controller', 'controller')).toBe(true);
    expect(allowed('controller', 'agent')).toBe(false);
    expect(allowed('core', 'proc')).toBe(false);
    expect(allowed('runtimes', 'launchers')).toBe(false);
    expect(allowed('client', 'protocol')).toBe(true);
    expect(allowed('client', 'proc')).toBe(false);
    expect(allowed('cli', 'client')).toBe(false);
  });

  it('has no violation beyond the known ones', () => {
    expect(violations.filter((v) => !KNOWN_VIOLATIONS.includes(v))).toEqual([]);
  });

  it('lists no known violation that is gone (delete its entry)', () => {
    expect(KNOWN_VIOLATIONS.filter((v) => !violations.includes(v))).toEqual([]);
  });
});
