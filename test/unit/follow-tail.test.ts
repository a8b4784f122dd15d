// tail -f for job files: appends arrive in order, a file that appears later is picked up, a
// truncated file is read again from the start, stop() drains what is left. Waits on the data.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFrom, tailFile } from '../../src/cli/tail.js';
import { scriptName } from '../../src/cli/commands/submit.js';
import { tempDir } from '../support/temp-dir.js';

function collector() {
  let text = '';
  const waiters: Array<() => void> = [];
  return {
    on: (b: Buffer) => {
      text += b.toString();
      waiters.splice(0).forEach((w) => w());
    },
    text: () => text,
    until: (want: string, ms = 5000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${JSON.stringify(want)}; have ${JSON.stringify(text)}`)),
          ms,
        );
        const check = () => (text.includes(want) ? (clearTimeout(t), resolve()) : waiters.push(check));
        check();
      }),
  };
}

describe('tailFile', () => {
  it('follows a file that does not exist yet, in order, and drains on stop', async () => {
    const dir = tempDir('raysl-tail-');
    const file = join(dir, 'entrypoint.log');
    const c = collector();
    const tail = tailFile(file, c.on);
    writeFileSync(file, 'one\n');
    await c.until('one\n');
    appendFileSync(file, 'two\n');
    await c.until('two\n');
    appendFileSync(file, 'three\n');
    await tail.stop();
    expect(c.text()).toBe('one\ntwo\nthree\n');
  });

  it('works by polling alone when the directory cannot be watched (NFS-like), and restarts after truncation', async () => {
    const dir = tempDir('raysl-tail-');
    const file = join(dir, 'missing-dir', 'x.log'); // fs.watch on a missing dir fails: poll only
    const c = collector();
    const tail = tailFile(file, c.on, { pollMinMs: 10, pollMaxMs: 40 });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'missing-dir'));
    writeFileSync(file, 'abcdef\n');
    await c.until('abcdef\n');
    writeFileSync(file, 'xy\n'); // shorter: replaced
    await c.until('xy\n');
    await tail.stop();
    expect(c.text()).toBe('abcdef\nxy\n');
  });

  it('readFrom returns the offset unchanged for a missing file', async () => {
    expect(await readFrom('/nonexistent/raysl/x', 12, () => {})).toBe(12);
  });
});

describe('scriptName', () => {
  it('sorts by time and is a safe file name', () => {
    expect(scriptName(Date.parse('2025-01-02T03:04:05.678Z'), 4242)).toBe('raysl-20250102-030405-678-4242.sbatch');
  });
  it('differs between two submitting processes in the same millisecond (they once both submitted one file)', () => {
    const t = Date.parse('2025-01-02T03:04:05.678Z');
    expect(scriptName(t, 4242)).not.toBe(scriptName(t, 4243));
  });
});
