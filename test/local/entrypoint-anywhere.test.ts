// A user copies an entrypoint into a directory of their own (no package.json, no node_modules) and
// runs it: `import ... from 'raysl'` and top-level await must work there as in examples/, and
// nothing may be written into that directory (src/client/entry-hooks.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, exitWithin, fixtures, runLocal } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';

beforeAll(() => ensureBuilt(), 120_000);

/** A fresh directory outside the repo holding only `files` (fixture name -> name in the dir). */
function userDir(files: Record<string, string>): string {
  const dir = tempDir('raysl-user-');
  for (const [from, to] of Object.entries(files)) copyFileSync(join(fixtures, 'anywhere', from), join(dir, to));
  return dir;
}

function lastJsonLine(out: string): { from: string; resources: { nodes: number; cpus: number }; nodes: string[] } {
  const line = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (line === undefined) throw new Error(`no JSON line in stdout:\n${out}`);
  return JSON.parse(line);
}

describe('an entrypoint outside any package', () => {
  it.each([
    ['resources.ts', 'train.ts'],
    ['resources.mjs', 'train.mjs'],
    // .js in a bare directory is ambiguous: Node detects the module syntax itself
    ['resources.mjs', 'train.js'],
  ])('%s copied as %s imports raysl, awaits at top level and connects', async (fixture, name) => {
    const dir = userDir({ [fixture]: name });
    const job = runLocal(['-N', '2', join(dir, name)]);
    const { code } = await exitWithin(job, 20_000);
    expect(code, job.stderr()).toBe(0);
    const out = lastJsonLine(job.stdout());
    expect(out.from).toBe(pathToFileURL(join(dir, name)).href);
    expect(out.resources).toMatchObject({ nodes: 2, cpus: 8 });
    expect(out.nodes).toEqual(['node1', 'node2']);
    expect(readdirSync(dir)).toEqual([name]);
  });

  it("uses the user's own installed raysl when there is one", async () => {
    const dir = userDir({ 'resources.ts': 'train.ts' });
    const own = join(dir, 'node_modules', 'raysl');
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'package.json'), JSON.stringify({ name: 'raysl', type: 'module', exports: './own.js' }));
    writeFileSync(
      join(own, 'own.js'),
      "export async function connect() { throw new Error('the user-installed raysl was loaded'); }\n",
    );
    const job = runLocal(['-N', '1', join(dir, 'train.ts')]);
    const { code } = await exitWithin(job, 20_000);
    expect(code).toBe(1);
    expect(job.stderr()).toContain('the user-installed raysl was loaded');
  });

  it('leaves a .ts under an explicit "type": "commonjs" as CommonJS (the user said so)', async () => {
    const dir = userDir({ 'resources.ts': 'train.ts' });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'commonjs' }));
    const job = runLocal(['-N', '1', join(dir, 'train.ts')]);
    const { code } = await exitWithin(job, 20_000);
    expect(code).toBe(1);
    // tsx (Node 20) compiles it to CommonJS and refuses the await; Node's own type stripping
    // (Node >= 22.18, see src/cli/paths.ts) loads it as CommonJS and refuses the import
    const strips = Boolean((process.features as { typescript?: unknown }).typescript);
    expect(job.stderr()).toMatch(
      strips
        ? /SyntaxError: Cannot use import statement outside a module/
        : /Top-level await is currently not supported with the "cjs" output format/,
    );
  });
});
