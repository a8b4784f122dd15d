// Imports point down only (STYLE.md, DESIGN.md "Layout"): every import in src/**.ts is read with
// TypeScript's own scanner (every form: import, import type, export from, import(), require) and
// checked against the layer order below. A folder may import its own files and any lower layer;
// `client` (what a user's entrypoint imports) only protocol and core.
// Subfolders are units of their own, not lumped with their parent: a subfolder may use its parent's
// shared files (types, errors), the parent reaches into a subfolder only through the entry files
// SUBFOLDERS names, and every subfolder of src must be declared here (a new one fails until it is).
// The purity of core and render (explicit allow-lists) is pure-core.test.ts.
// KNOWN_VIOLATIONS is empty since the restructure; the test fails on any new violation and on a
// listed one that no longer occurs.
import { describe, expect, it } from 'vitest';
import { importEdges, tsFiles, srcRoot, unitOf, type ImportEdge } from '../support/src-imports.js';

const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['launchers'],
  ['controller', 'agent'],
  ['runtimes', 'slurm', 'render'],
  ['protocol', 'proc', 'jobdir'],
  ['core'],
];
const ONLY: Readonly<Record<string, readonly string[]>> = { client: ['protocol', 'core'] };
/**
 * Each subfolder of src: the files of its parent folder that may import it (its entry points), the
 * other subfolders of the same parent it may import (`uses`; none by default), and why it exists.
 */
const SUBFOLDERS: Readonly<Record<string, { entries: readonly string[]; uses?: readonly string[]; why: string }>> = {
  'core/scheduler': {
    entries: [],
    why: "the builtin runtime's scheduler: pure, above core's own files, used by runtimes/builtin",
  },
  'runtimes/builtin': { entries: ['src/runtimes/index.ts'], why: 'the builtin runtime; the runtime registry picks it' },
  'runtimes/ray': { entries: ['src/runtimes/index.ts'], why: 'the Ray runtime; the runtime registry picks it' },
  'cli/commands': {
    entries: ['src/cli/command-index.ts'],
    why: 'one file per command; the command index loads the one being run',
  },
};

const KNOWN_VIOLATIONS: readonly string[] = [];

const topOf = (unit: string): string => unit.split('/')[0]!;
const parentOf = (unit: string): string => unit.slice(0, Math.max(0, unit.lastIndexOf('/')));

function layerOf(folder: string): number | undefined {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  return i < 0 ? undefined : i;
}

/** May `file` (in unit `from`) import a module of unit `to`? */
function allowed(from: string, to: string, file = ''): boolean {
  if (from === to) return true;
  if (topOf(from) === topOf(to)) {
    if (parentOf(from) === to) return true; // a subfolder uses its parent's shared files
    if (parentOf(to) === from) return SUBFOLDERS[to]?.entries.includes(file) ?? false;
    return SUBFOLDERS[from]?.uses?.includes(to) ?? false; // siblings: only as declared
  }
  const a = topOf(from);
  const b = topOf(to);
  const only = ONLY[a];
  if (only) return only.includes(b);
  const la = layerOf(a);
  const lb = layerOf(b);
  return la !== undefined && lb !== undefined && lb > la;
}

const describeEdge = (e: ImportEdge): string => `${e.file} -> ${e.target}`;

describe('import directions', () => {
  const all = importEdges().filter((e): e is ImportEdge & { to: string; target: string } => e.to !== undefined);
  const violations = all.filter((e) => !allowed(e.from, e.to, e.file)).map(describeEdge);

  it('sees the imports (the parser and the resolution work)', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContainEqual(
      expect.objectContaining({ file: 'src/cli/main.ts', from: 'cli', target: expect.stringMatching(/^src\//) }),
    );
    expect(all).toContainEqual(expect.objectContaining({ from: 'runtimes/builtin', to: 'core/scheduler' }));
  });

  it('knows every folder of src (a new subfolder is declared in SUBFOLDERS with its entry files)', () => {
    const units = new Set(tsFiles(srcRoot).map((f) => unitOf(f)!));
    const unknown = [...units].filter(
      (u) => u !== '' && (u.includes('/') ? !(u in SUBFOLDERS) : layerOf(u) === undefined && !(u in ONLY)),
    );
    expect(unknown).toEqual([]);
    expect(Object.keys(SUBFOLDERS).filter((u) => !units.has(u))).toEqual([]);
  });

  it('files directly in src/ (ambient declarations) import no src module', () => {
    expect(
      importEdges()
        .filter((e) => e.from === '' && e.spec.startsWith('.'))
        .map((e) => `${e.file}: ${e.spec}`),
    ).toEqual([]);
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
    // subfolders: the layer of their top folder outward, their own rule inside it
    expect(allowed('runtimes/builtin', 'core/scheduler')).toBe(true);
    expect(allowed('runtimes/builtin', 'controller')).toBe(false);
    expect(allowed('core/scheduler', 'core')).toBe(true);
    expect(allowed('core', 'core/scheduler', 'src/core/plan.ts')).toBe(false);
    expect(allowed('runtimes', 'runtimes/builtin', 'src/runtimes/index.ts')).toBe(true);
    expect(allowed('runtimes', 'runtimes/builtin', 'src/runtimes/ray/runtime.ts')).toBe(false);
    expect(allowed('core/scheduler', 'runtimes/builtin')).toBe(false);
    expect(allowed('runtimes/builtin', 'runtimes/ray')).toBe(false); // siblings: not declared
  });

  it('has no violation beyond the known ones', () => {
    expect(violations.filter((v) => !KNOWN_VIOLATIONS.includes(v))).toEqual([]);
  });

  it('lists no known violation that is gone (delete its entry)', () => {
    expect(KNOWN_VIOLATIONS.filter((v) => !violations.includes(v))).toEqual([]);
  });
});
