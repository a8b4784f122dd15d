// jobdir/write.ts: the one atomic writer (tmp + rename) with the job dir's file modes.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../../src/jobdir/write.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(mode: number): string {
  const d = mkdtempSync(join(tmpdir(), 'raysl-write-'));
  chmodSync(d, mode);
  dirs.push(d);
  return d;
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe('writeJsonAtomic', () => {
  it('writes indented JSON with a final newline, mode 0600 in a private dir, and leaves no temporary file', () => {
    const d = dir(0o700);
    writeJsonAtomic(join(d, 'status.json'), { state: 'running', nodes: [1] });
    expect(readFileSync(join(d, 'status.json'), 'utf8')).toBe(
      '{\n  "state": "running",\n  "nodes": [\n    1\n  ]\n}\n',
    );
    expect(modeOf(join(d, 'status.json'))).toBe(0o600);
    expect(readdirSync(d)).toEqual(['status.json']);
  });

  it("0640 in a group's job dir (set-group-ID, group-readable)", () => {
    const d = dir(0o2750);
    writeJsonAtomic(join(d, 'plan.json'), {});
    expect(modeOf(join(d, 'plan.json'))).toBe(0o640);
  });

  it('replaces an existing file whole (a reader sees the old text or the new one)', () => {
    const d = dir(0o700);
    const f = join(d, 'ports.json');
    writeFileSync(f, 'old\n', { mode: 0o600 });
    writeJsonAtomic(f, { base: 20000 });
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ base: 20000 });
  });

  it('a failed write throws and leaves no temporary file behind', () => {
    const d = dir(0o700);
    // the target is a directory: the temporary file is written, the rename over it fails
    mkdirSync(join(d, 'taken'));
    expect(() => writeFileAtomic(join(d, 'taken'), 'text\n')).toThrow(/EISDIR/);
    expect(readdirSync(d)).toEqual(['taken']);
  });
});
