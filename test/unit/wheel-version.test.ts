// One version for the npm package and the pip wheel: python/pyproject.toml declares none of its own;
// hatchling reads it from the package.json that scripts/build-wheel.mjs stages next to the bundle
// (a copy of this package.json's name and version). This fails when someone pins a version there.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pyproject = readFileSync(join(root, 'python', 'pyproject.toml'), 'utf8');
const buildWheel = readFileSync(join(root, 'scripts', 'build-wheel.mjs'), 'utf8');

/** The lines of one [table] of a TOML file (enough TOML for a file we write ourselves). */
function table(name: string): string[] {
  const lines = pyproject.split('\n');
  const start = lines.indexOf(`[${name}]`);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /^\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

describe('the wheel takes its version from package.json', () => {
  it('[project] has no version of its own and declares it dynamic', () => {
    const project = table('project');
    expect(project.length).toBeGreaterThan(0);
    expect(project.filter((l) => /^version\s*=/.test(l))).toEqual([]);
    expect(project).toContain('dynamic = ["version"]');
  });

  it('hatchling reads it from the staged package.json, which build-wheel writes from this one', () => {
    const version = table('tool.hatch.version');
    expect(version).toContain('path = "raysl/_package/package.json"');
    const pattern = /^pattern = '(.*)'$/.exec(version.find((l) => l.startsWith('pattern = ')) ?? '')?.[1];
    expect(pattern).toBeDefined();
    // the pattern finds this package.json's version as JSON.stringify writes it
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
    const staged = JSON.stringify({ name: pkg.name, version: pkg.version }, null, 2);
    expect(new RegExp(pattern!.replace('(?P<version>', '(?<version>')).exec(staged)?.groups?.['version']).toBe(
      pkg.version,
    );
    expect(buildWheel).toMatch(/version: pkg\.version/);
    expect(buildWheel).toMatch(/join\(pkgDir, 'package\.json'\)/);
  });
});
