// The marker sweep (src/proc/sweep.ts) on real processes: what escaped its process group (setsid,
// double fork) is found by the variable it inherited, and nothing without it is touched.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { killMarked, markedProcesses } from '../../src/proc/sweep.js';
import { processAlive } from '../../src/proc/identity.js';
import { allGone } from './helpers.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

describe('killMarked', () => {
  it('kills every process carrying the marker, setsid and double-forked ones included, and nothing else', async () => {
    const mark = `test-${process.pid}-${Date.now()}`;
    // a parent that double-forks a setsid child and prints both pids, all with the marker
    const marked = spawn('sh', ['-c', '( setsid sleep 1001 & echo $! ) ; sleep 1002 & echo $!; wait'], {
      env: { ...process.env, RAYSL_TEST_MARK: mark },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const bystander = spawn('sleep', ['1003'], {
      env: { ...process.env, RAYSL_TEST_MARK: `${mark}-other` },
      stdio: 'ignore',
    });
    const pids = await new Promise<number[]>((resolve) => {
      let out = '';
      marked.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const got = out.trim().split('\n').filter(Boolean).map(Number);
        if (got.length === 2) resolve(got);
      });
    });
    // a pid printed by `$!` may still be in its exec (its environ reads empty for that moment)
    const expected = [marked.pid!, ...pids];
    const found = await until(
      `${expected.join(', ')} found by the marker`,
      () => {
        const f = markedProcesses('RAYSL_TEST_MARK', mark);
        return expected.every((p) => f.includes(p)) ? f : undefined;
      },
      10_000,
    );
    expect(found).not.toContain(bystander.pid);
    expect(await killMarked('RAYSL_TEST_MARK', mark, 5000)).toBe(found.length);
    expect(await allGone([marked.pid!, ...pids])).toEqual([]);
    expect(processAlive(bystander.pid!)).toBe(true);
    bystander.kill('SIGKILL');
  });

  it("also finds a process by a working directory inside the job's dirs (a title rewrite can clobber /proc/<pid>/environ)", async () => {
    const dir = tempDir('raysl-sweep-');
    const inside = spawn('sleep', ['1004'], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    const outside = spawn('sleep', ['1005'], { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
    try {
      const mark = `none-${process.pid}`;
      expect(markedProcesses('RAYSL_TEST_MARK', mark)).toEqual([]);
      expect(markedProcesses('RAYSL_TEST_MARK', mark, [dir])).toEqual([inside.pid]);
      expect(await killMarked('RAYSL_TEST_MARK', mark, 5000, [dir])).toBe(1);
      expect(await allGone([inside.pid!])).toEqual([]);
      expect(processAlive(outside.pid!)).toBe(true);
    } finally {
      outside.kill('SIGKILL');
      inside.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
