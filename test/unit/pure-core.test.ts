// STYLE.md principle 1: src/core and src/render are pure. They import no process, filesystem,
// child process, execa, chalk or ora, so planning and rendering are functions from data to data.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const forbidden = [/^node:/, /^(fs|child_process|os|net|http|process|path)$/, /^execa$/, /^chalk$/, /^ora$/, /\/(slurm|cli|controller|agent|launchers|runtimes)\//];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('pure core', () => {
  const files = ['src/core', 'src/render'].flatMap(tsFiles);
  it('has files to check', () => expect(files.length).toBeGreaterThan(0));
  it.each(files)('%s imports nothing impure', (file) => {
    const src = readFileSync(file, 'utf8');
    const imports = [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    const dynamic = [...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
    const bad = [...imports, ...dynamic].filter((i) => forbidden.some((re) => re.test(i)));
    expect(bad).toEqual([]);
    expect(src).not.toMatch(/\bprocess\.(env|exit|cwd|argv|stdout|stderr)\b/);
  });
});
