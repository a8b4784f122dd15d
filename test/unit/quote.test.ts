import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sbatchQuote, shellJoin, shellQuote } from '../../src/render/quote.js';

const hostile = [
  '',
  'plain',
  'two words',
  "it's",
  "'",
  "''",
  '"',
  'x"; touch /tmp/pwned; "',
  '$(id)',
  '`id`',
  '${HOME}',
  '$HOME',
  'a\\b',
  '\\',
  'back\\\\slash',
  'line1\nline2',
  '\n',
  'tab\there',
  '*',
  '~',
  '-n',
  '--flag=value with spaces',
  '!event',
  'a;b|c&d>e<f',
  '# not a comment',
  'ünïcødé 日本語 🚀',
  'mixed \'single\' and "double" and $(sub) and `tick`',
];

/** bash reads the quoted words back: printf each argument NUL-terminated, compare bytes. */
function bashRoundTrip(words: string[]): string[] {
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${shellJoin(words)}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves safe words bare and quotes everything else', () => {
    expect(shellQuote('node1')).toBe('node1');
    expect(shellQuote('/opt/raysl/dist/raysl.mjs')).toBe('/opt/raysl/dist/raysl.mjs');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(id)')).toBe("'$(id)'");
  });

  it('bash reads every hostile string back byte-identical', () => {
    expect(bashRoundTrip(hostile)).toEqual(hostile);
  });

  it.each(hostile)('round-trips %j alone', (s) => {
    expect(bashRoundTrip([s])).toEqual([s]);
  });
});

describe('sbatchQuote', () => {
  // Behaviour of sbatch's #SBATCH tokenizer, recorded with sbatch 22.05 on the test cluster
  // (see src/render/quote.ts); the quoting must avoid every special character it has.
  it.each([
    ['debug', 'debug'],
    ['a b', '"a b"'],
    ['a#b', '"a#b"'],
    ['x"; touch /tmp/pwned; "', '"x\\"; touch /tmp/pwned; \\""'],
    ["it's", '"it\'s"'],
    ['a\\b', '"a\\\\b"'],
    ['$(id)', '"$(id)"'],
    ['2:00:00', '2:00:00'],
    ['/home/u/raysl-jobs/raysl-%j.out', '/home/u/raysl-jobs/raysl-%j.out'],
  ])('%j -> %s', (value, quoted) => expect(sbatchQuote(value)).toBe(quoted));

  it('produces a word sbatch can only read one way: every " and \\ inside is escaped', () => {
    for (const s of hostile.filter((h) => !/\n/.test(h))) {
      const q = sbatchQuote(s);
      if (q === s) continue;
      const inner = q.slice(1, -1);
      expect(q.startsWith('"') && q.endsWith('"')).toBe(true);
      // unescape the way sbatch does (backslash takes the next char literally) and compare
      expect(inner.replace(/\\(.)/g, '$1')).toBe(s);
      expect(inner.replace(/\\./g, '')).not.toMatch(/["\\]/);
    }
  });
});
