import { mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepLogs } from '../../src/runtimes/keep-logs.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const root = tempDir('raysl-keep-');
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe("keepLogs: a runtime's logs into the job dir, bounded", () => {
  it('copies every file with its relative path when all fit, and skips symlinks', () => {
    const src = tree({ 's1/logs/raylet.out': 'started\n', 's1/logs/old/gcs_server.err': 'boom\n' });
    symlinkSync(join(src, 's1/logs/raylet.out'), join(src, 's1/logs/latest.out'));
    const dest = join(src, 'kept');
    const kept = keepLogs(src, [join(src, 's1', 'logs')], dest);
    expect(kept).toEqual({ files: 2, bytes: 13, cut: [] });
    expect(readFileSync(join(dest, 's1/logs/raylet.out'), 'utf8')).toBe('started\n');
    expect(readFileSync(join(dest, 's1/logs/old/gcs_server.err'), 'utf8')).toBe('boom\n');
    expect(existsSync(join(dest, 'TRUNCATED.txt'))).toBe(false);
    expect(existsSync(join(dest, 's1/logs/latest.out'))).toBe(false);
  });

  it('keeps the tail of a long file and stops at the total, newest files first, saying what was cut and the limits', () => {
    const src = tree({
      'logs/a.log': 'aaaa',
      'logs/b.log': 'bbbbbbbb',
      'logs/big.log': 'head-' + 'x'.repeat(20) + '-end',
      'logs/old.log': 'old',
    });
    // newest first: a, then b, then big, then old (mtimes set apart by a minute each)
    const now = Date.now() / 1000;
    for (const [i, f] of ['a', 'b', 'big', 'old'].entries())
      utimesSync(join(src, 'logs', `${f}.log`), now - 60 * i, now - 60 * i);
    const dest = join(src, 'kept');
    const kept = keepLogs(src, [join(src, 'logs')], dest, { perFileBytes: 6, totalBytes: 12 });
    expect(readFileSync(join(dest, 'logs/a.log'), 'utf8')).toBe('aaaa');
    // a (4) fits whole; b gets its last 6 (the per-file cap); big gets the 2 bytes left of the 12; old is left out
    expect(readFileSync(join(dest, 'logs/b.log'), 'utf8')).toBe('bbbbbb');
    expect(readFileSync(join(dest, 'logs/big.log'), 'utf8')).toBe('nd');
    expect(existsSync(join(dest, 'logs/old.log'))).toBe(false);
    expect(kept).toMatchObject({ files: 3, bytes: 12 });
    expect(readFileSync(join(dest, 'TRUNCATED.txt'), 'utf8')).toBe(
      "raysl keeps each file's last 6 bytes and at most 12 bytes per node, newest files first; cut here:\n" +
        'logs/b.log: last 6 of 8 bytes kept\nlogs/big.log: last 2 of 29 bytes kept\nlogs/old.log: left out (3 bytes; the 12-byte total was reached)\n',
    );
  });

  it('a missing source is no error: nothing kept', () => {
    const src = tree({});
    expect(keepLogs(src, [join(src, 'nope')], join(src, 'kept'))).toEqual({ files: 0, bytes: 0, cut: [] });
  });
});
