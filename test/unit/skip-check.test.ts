import { describe, expect, it } from 'vitest';
import { checkSkips, describeSkips, type JsonReport } from '../../scripts/skip-check.mjs';
import { allowedSkips } from '../../scripts/allowed-skips.mjs';

const root = '/repo';
const report = (tests: [string, string][]): JsonReport => ({
  testResults: [
    {
      name: '/repo/test/unit/x.test.ts',
      assertionResults: tests.map(([title, status]) => ({ ancestorTitles: ['suite'], title, status })),
    },
  ],
});

describe('skipped tests fail the run unless allowed with a reason (scripts/skip-check.mjs)', () => {
  it('passes a run where every test ran', () => {
    const v = checkSkips(
      report([
        ['a', 'passed'],
        ['b', 'failed'],
      ]),
      [],
      { root, nameFiltered: false },
    );
    expect(v).toMatchObject({ ok: true, unexpected: [], allowed: [] });
    expect(describeSkips(v)).toEqual([]);
  });

  it('fails on a skipped or todo test that no entry allows, naming it, with a hint', () => {
    const v = checkSkips(
      report([
        ['a', 'passed'],
        ['b', 'skipped'],
        ['c', 'todo'],
        ['d', 'pending'],
      ]),
      [],
      { root, nameFiltered: false },
    );
    expect(v.ok).toBe(false);
    expect(v.unexpected.map((t) => t.name)).toEqual([
      'test/unit/x.test.ts > suite > b',
      'test/unit/x.test.ts > suite > c',
      'test/unit/x.test.ts > suite > d',
    ]);
    const lines = describeSkips(v);
    expect(lines).toContain('todo without a reason: test/unit/x.test.ts > suite > c');
    expect(lines.at(-1)).toMatch(/^hint: .*scripts\/allowed-skips\.mjs/);
  });

  it('passes an allowed skip and prints its reason', () => {
    const allowed = [{ test: 'test/unit/x.test.ts > suite > b', reason: 'needs a GPU' }];
    const v = checkSkips(
      report([
        ['a', 'passed'],
        ['b', 'skipped'],
      ]),
      allowed,
      { root, nameFiltered: false },
    );
    expect(v.ok).toBe(true);
    expect(describeSkips(v)).toEqual(['skipped on purpose: test/unit/x.test.ts > suite > b: needs a GPU']);
  });

  it('under a -t name filter, counts the tests it left out without failing the run', () => {
    const v = checkSkips(
      report([
        ['a', 'passed'],
        ['b', 'skipped'],
      ]),
      [],
      { root, nameFiltered: true },
    );
    expect(v.ok).toBe(true);
    expect(describeSkips(v)).toEqual(['1 test(s) left out by the -t name filter (not checked)']);
  });

  it('every allow-list entry gives a reason', () => {
    for (const a of allowedSkips) expect(a.reason.trim(), a.test).not.toBe('');
  });
});
