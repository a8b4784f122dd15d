// STYLE.md principle 1: src/core and src/render (subfolders included) are pure: functions from data
// to data. Each has an explicit allow-list of what it may import; anything else fails, whatever the
// import form (import 'x', import x from, import type, export ... from, import(), require): no
// node: module, no proc, no filesystem, child process, network, execa, chalk or ora.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importEdges, importsIn, repoRoot, type ImportEdge } from '../support/src-imports.js';

interface Allowed {
  /** src folders (and their subfolders) it may import */
  folders: readonly string[];
  /** npm packages it may import, exactly as written */
  packages: readonly string[];
  /** other repository files it may import (relative to the repository) */
  files?: RegExp;
}

const PURE: Readonly<Record<'core' | 'render', Allowed>> = {
  core: { folders: ['core'], packages: ['zod', 'zod/mini'] },
  // templates are precompiled into the bundle: importing one is data, not I/O
  render: { folders: ['render', 'core'], packages: ['handlebars/runtime'], files: /^templates\/[\w.-]+\.hbs$/ },
};

function isAllowed(edge: ImportEdge, rule: Allowed): boolean {
  if (!edge.spec.startsWith('.')) return rule.packages.includes(edge.spec);
  if (edge.to !== undefined) return rule.folders.includes(edge.to.split('/')[0]!);
  return rule.files?.test(edge.target ?? '') ?? false;
}

describe('pure core and render', () => {
  for (const [folder, rule] of Object.entries(PURE)) {
    const edges = importEdges(join(repoRoot, 'src', folder));
    it(`${folder}: has imports to check`, () => expect(edges.length).toBeGreaterThan(3));
    it(`${folder}: imports only its allow-list (${[...rule.folders, ...rule.packages].join(', ')})`, () => {
      expect(edges.filter((e) => !isAllowed(e, rule)).map((e) => `${e.file}: ${e.spec}`)).toEqual([]);
    });
    it(`${folder}: touches no process global`, () => {
      const files = [...new Set(edges.map((e) => e.file))];
      const bad = files.filter((f) =>
        /\bprocess\.(env|exit|cwd|argv|stdout|stderr|kill|pid)\b/.test(readFileSync(join(repoRoot, f), 'utf8')),
      );
      expect(bad).toEqual([]);
    });
  }

  it.each([
    ["import 'node:child_process';", 'node:child_process'],
    ["import fs from 'node:fs';", 'node:fs'],
    ["import type { Socket } from 'node:net';", 'node:net'],
    ["export { spawn } from 'node:child_process';", 'node:child_process'],
    ["export * from '../proc/group.js';", '../proc/group.js'],
    ["const m = await import('node:net');", 'node:net'],
    ["import cp = require('child_process');", 'child_process'],
    ["const x = require('node:fs');", 'node:fs'],
    ["type S = typeof import('node:net');", 'node:net'],
    // after a regex literal holding a quote (TypeScript's light scanner misses what follows)
    [
      "const q = (s: string) => s.replace(/[\"\\\\]/g, '\\\\$&');\nexport * from '../proc/group.js';",
      '../proc/group.js',
    ],
  ])('the scanner sees %s', (text, spec) => {
    expect(importsIn(text)).toEqual([spec]);
  });

  it('refuses what it must refuse', () => {
    const core = PURE.core;
    const edge = (spec: string, to?: string, target?: string): ImportEdge => ({
      file: 'src/core/x.ts',
      spec,
      from: 'core',
      ...(to ? { to } : {}),
      ...(target ? { target } : {}),
    });
    expect(isAllowed(edge('node:fs'), core)).toBe(false);
    expect(isAllowed(edge('execa'), core)).toBe(false);
    expect(isAllowed(edge('../proc/group.js', 'proc', 'src/proc/group.ts'), core)).toBe(false);
    expect(isAllowed(edge('../render/quote.js', 'render', 'src/render/quote.ts'), core)).toBe(false);
    expect(isAllowed(edge('./scheduler/index.js', 'core/scheduler', 'src/core/scheduler/index.ts'), core)).toBe(true);
    expect(isAllowed(edge('zod/mini'), core)).toBe(true);
    expect(isAllowed(edge('../../templates/sbatch.sh.hbs', undefined, 'templates/sbatch.sh.hbs'), PURE.render)).toBe(
      true,
    );
    expect(isAllowed(edge('../../templates/sbatch.sh.hbs', undefined, 'templates/sbatch.sh.hbs'), core)).toBe(false);
  });
});
