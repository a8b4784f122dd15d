// SIGKILL of the controller (`raysl run --local`) mid-run: nothing can tear down in the controller,
// so the agents do it: each stops its runtime, and the head's agent stops the entrypoint's process
// group (its own group, detached), TERM first and KILL after the grace for one that ignores TERM.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, fixtures, jobProcesses, runLocal, statusWhere } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

/** Polls /proc with backoff until no process of the job is left or the deadline passes. */
async function jobGone(jobId: string, ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  let step = 5;
  for (;;) {
    const left = jobProcesses(jobId);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, step));
    step = Math.min(step * 2, 100);
  }
}

describe('raysl run --local: the controller is killed', () => {
  it.each([
    ['wait.sh', 3, 5000],
    // ignores TERM: the head's agent KILLs the group after its grace (3 s)
    ['stubborn.sh', 2, 8000],
  ])('SIGKILL mid-run with %s on %i nodes leaves no process of the job', async (entry, nodes, ms) => {
    const job = runLocal(['-N', String(nodes), join(fixtures, entry)]);
    await job.waitFor(/ready \d+/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    // the entrypoint and its children are running under the job's id
    expect(jobProcesses(s.jobId).length).toBeGreaterThanOrEqual(nodes + 1);
    job.child.kill('SIGKILL');
    await exitWithin(job, 5000);
    expect(await jobGone(s.jobId, ms)).toEqual([]);
  });
});
