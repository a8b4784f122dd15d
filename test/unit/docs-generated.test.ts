// docs/cli.md and docs/benchmarks.md are generated (scripts/gen-docs.mjs) from the built CLI's
// --help and from bench/results/*.json; a committed page that differs from what the generator
// makes now is stale, and this test says how to regenerate it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandsIn, REGENERATE, renderResult, root, stalePages } from '../../scripts/gen-docs.mjs';

describe('generated docs', () => {
  it('the committed pages are what the generator makes now', () => {
    expect(existsSync(join(root, 'dist/raysl.mjs')), 'no dist/raysl.mjs: run node scripts/build.mjs first').toBe(true);
    expect(stalePages(), `stale generated docs; regenerate with: ${REGENERATE}`).toEqual([]);
  });

  it('reads the command list from --help (hidden commands and help left out)', () => {
    const help =
      'Usage: raysl\n\nCommands:\n  render [options] <entrypoint>  print\n  ls [options]       list\n  help [command]     display help\n\nExamples:\n  $ raysl ls\n';
    expect(commandsIn(help)).toEqual(['render', 'ls']);
  });

  it('turns a results file into tables: values, timings, records', () => {
    const md = renderResult('x.json', {
      name: 'x',
      date: '2026-01-01',
      machine: { cpus: 2 },
      runs: 3,
      wall: { n: 3, minMs: 1, medianMs: 2, p95Ms: 3, maxMs: 3 },
      curve: [
        { n: 4, joinedMs: 10 },
        { n: 16, joinedMs: 20, extra: { a: 1 } },
      ],
    });
    expect(md).toContain('## x\n\n`bench/results/x.json`: measured 2026-01-01 on cpus 2.');
    expect(md).toContain('| runs | 3 |');
    expect(md).toContain('| wall | 3 | 1 ms | 2 ms |  | 3 ms | 3 ms |');
    expect(md).toContain('| n | joinedMs | extra.a |\n|---|---|---|\n| 4 | 10 |  |\n| 16 | 20 | 1 |');
  });
});
