// Imports point down (STYLE.md): the controller owns the Launcher interface it calls
// (src/controller/launcher.ts) and never imports a launcher, the CLI or the agent.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const files = readdirSync('src/controller').filter((f) => f.endsWith('.ts')).map((f) => join('src/controller', f));

describe('src/controller imports', () => {
  it('has files to check', () => expect(files.length).toBeGreaterThan(0));
  it.each(files)('%s imports no launcher, CLI or agent module', (file) => {
    const src = readFileSync(file, 'utf8');
    const imports = [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    expect(imports.filter((i) => /^\.\.\/(launchers|cli|agent)\//.test(i))).toEqual([]);
  });
});
