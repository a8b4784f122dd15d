// How an entrypoint is started (the argv prefix the plan records) and which format the entry hook
// gives it: both pure, so tables; the real loading is test/local/entrypoint-anywhere.test.ts.
import { describe, expect, it } from 'vitest';
import { entryFormat, entrypointKind, interpreterFor, type PackageScopeType } from '../../src/core/entrypoint.js';

const tools = {
  node: '/usr/bin/node',
  tsx: '/opt/raysl/node_modules/tsx/dist/cli.mjs',
  hook: 'file:///opt/raysl/dist/register-entry.mjs',
};

describe('interpreterFor', () => {
  it.each([
    // the hook goes after tsx's CLI: tsx hands node flags to the child node that runs the script
    ['train.ts', [tools.node, '--', tools.tsx, '--import', tools.hook, '--']],
    ['train.mts', [tools.node, '--', tools.tsx, '--import', tools.hook, '--']],
    ['train.cts', [tools.node, '--', tools.tsx, '--import', tools.hook, '--']],
    ['train.js', [tools.node, '--import', tools.hook, '--']],
    ['train.mjs', [tools.node, '--import', tools.hook, '--']],
    ['train.py', ['python3', '-u']],
    ['run.sh', ['bash']],
    ['bin/app', []],
  ])('%s -> %j', (file, argv) => {
    expect(interpreterFor(entrypointKind(file), tools)).toEqual(argv);
  });

  it('without tsx (the pip wheel) a .ts runs on node itself, with the same hook; other kinds do not change', () => {
    const wheel = { ...tools, tsx: undefined };
    expect(interpreterFor(entrypointKind('train.ts'), wheel)).toEqual([tools.node, '--import', tools.hook, '--']);
    expect(interpreterFor(entrypointKind('train.mts'), wheel)).toEqual([tools.node, '--import', tools.hook, '--']);
    expect(interpreterFor(entrypointKind('train.js'), wheel)).toEqual(
      interpreterFor(entrypointKind('train.js'), tools),
    );
  });

  it('uses --python for .py and never adds the node hook to it', () => {
    expect(interpreterFor('python', { ...tools, python: '/opt/venv/bin/python' })).toEqual([
      '/opt/venv/bin/python',
      '-u',
    ]);
  });
});

describe('entryFormat', () => {
  it.each<[string, string | undefined, PackageScopeType, 'module' | undefined]>([
    // the case it exists for: a .ts copied to a directory with no package.json, or one without "type"
    ['/tmp/x/train.ts', 'commonjs', 'none', 'module'],
    // the user said CommonJS: their word stands (tsx then reports top-level await itself)
    ['/tmp/x/train.ts', 'commonjs', 'commonjs', undefined],
    // already ESM, or explicitly CommonJS by extension
    ['/tmp/x/train.ts', 'module', 'module', undefined],
    ['/tmp/x/train.mts', 'module', 'none', undefined],
    ['/tmp/x/train.cts', 'commonjs', 'none', undefined],
    // Node >= 20.19 detects module syntax in an ambiguous .js on its own
    ['/tmp/x/train.js', 'commonjs', 'none', undefined],
    ['/tmp/x/TRAIN.TS', 'commonjs', 'none', 'module'],
  ])('%s (resolved %s, package type %s) -> %s', (path, resolved, scope, expected) => {
    expect(entryFormat(path, resolved, scope)).toBe(expected);
  });
});
