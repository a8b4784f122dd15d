import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATUS_BATCH_MS, StatusFile } from '../../src/jobdir/status-file.js';
import { initialStatus, withNode, type JobStatus } from '../../src/core/status.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function fresh(n: number): { file: string; status: StatusFile } {
  const dir = tempDir('raysl-unit-');
  dirs.push(dir);
  const file = join(dir, 'status.json');
  const nodes = Array.from({ length: n }, (_, i) => ({
    name: `n${i}`,
    address: '127.0.0.1',
    role: i === 0 ? ('head' as const) : ('worker' as const),
    log: '/dev/null',
  }));
  return {
    file,
    status: new StatusFile(
      file,
      initialStatus({
        jobId: 'j',
        runtime: 'builtin',
        launcher: 'srun',
        nodes,
        minNodes: n,
        startedAtMs: Date.now(),
        controllerPid: 1,
        controllerHost: 'h',
      }),
    ),
  };
}
const joined = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as JobStatus).joined.length;

describe('status.json under a burst of joins', () => {
  it('writes the first per-node update at once and the rest of a burst together, within STATUS_BATCH_MS', () => {
    vi.useFakeTimers();
    const { file, status } = fresh(1000);
    vi.advanceTimersByTime(STATUS_BATCH_MS); // a quiet spell since the first write
    for (let i = 0; i < 1000; i++) {
      status.updateBatched((s) => withNode(s, `n${i}`, { state: 'joined' }));
      // the burst after the first join waits for the batch; one write per join would show every count
      if (i > 0 && i < 999) expect(joined(file)).toBe(1);
    }
    vi.advanceTimersByTime(STATUS_BATCH_MS);
    expect(joined(file)).toBe(1000);
  });

  it('update() writes what per-node updates left pending (the final status never waits)', () => {
    const { file, status } = fresh(3);
    status.updateBatched((s) => withNode(s, 'n0', { state: 'joined' }));
    status.updateBatched((s) => withNode(s, 'n1', { state: 'joined' }));
    expect(joined(file)).toBeLessThan(2);
    status.update((s) => ({ ...s, state: 'running' }));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ state: 'running', joined: ['n0', 'n1'] });
  });
});
