/**
 * 64 simulated nodes (issue 10: launching 128 blocked the controller until its agents gave up).
 * No timing assertion: the job must simply form, run, succeed and leave nothing behind. The bound
 * is generous because 64 Node processes starting at once take seconds of CPU on a 2-core machine.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentPids, allGone, ensureBuilt, exitWithin, fixtures, jobProcesses, runLocal } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('run --local at scale', () => {
  it('forms 64 nodes, runs the entrypoint, succeeds and leaves no process or temp dir', async () => {
    const job = runLocal(['-N', '64', join(fixtures, 'hello.sh')]);
    const { code } = await exitWithin(job, 150_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toContain('hello from the head');
    const s = job.status();
    expect(s.state).toBe('succeeded');
    expect(s.joined).toHaveLength(64);
    expect(s.nodes.every((n) => n.state === 'stopped' && (n.pid ?? 0) > 1)).toBe(true);
    expect(s.timeline.at(-1)?.phase).toBe('torn-down');
    expect(await allGone(agentPids(s))).toEqual([]);
    expect(jobProcesses(s.jobId)).toEqual([]);
    expect(existsSync(join(tmpdir(), `raysl-${s.jobId}`))).toBe(false);
  }, 180_000);
});
