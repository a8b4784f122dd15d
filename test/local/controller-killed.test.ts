// (the plain cases, a holding entrypoint and a normal end with escaped children, are rows of the
// fault matrix: test/support/fault-matrix.ts)
// SIGKILL of the controller (`raysl run --local`) mid-run: nothing can tear down in the controller,
// so the agents do it: each stops its runtime, and the head's agent stops the entrypoint's process
// group (its own group, detached), TERM first and KILL after the grace for one that ignores TERM.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { ensureBuilt, exitWithin, fixtures, jobProcesses, runLocal, statusWhere, jobGone } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('raysl run --local: the controller is killed', () => {
  it.each([
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

  it('SIGKILL mid-run: setsid double forks of the entrypoint and of a command are swept by the agents', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'escape.ts')]);
    await job.waitFor(/ready escaped/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    // a setsid'd fork is `sh` until it execs sleep: wait for both execs (the deadline only guards a hang)
    const escaped = await until(
      () => 'both escaped sleeps',
      () => {
        const found = jobProcesses(s.jobId).filter((p) => /^sleep 100[37]$/.test(cmdline(p)));
        return found.length === 2 ? found : undefined;
      },
      10_000,
    );
    expect(escaped.length, 'both escaped sleeps run under the job id').toBe(2);
    job.child.kill('SIGKILL');
    await exitWithin(job, 10_000);
    expect(await jobGone(s.jobId, 15_000)).toEqual([]);
  });
});

describe('raysl run --local: escaped processes at a normal end', () => {
  it.each([['SIGTERM to the CLI', [], 'SIGTERM' as const]])(
    '%s: setsid double forks of the entrypoint and of a command are gone',
    async (_what, args, signal) => {
      const job = runLocal(['-N', '2', join(fixtures, 'escape.ts'), '--', ...args]);
      await job.waitFor(/ready escaped/);
      const s = await statusWhere(
        job,
        (x) => x.state === 'running' || x.state === 'tearing-down' || x.state === 'succeeded',
      );
      if (signal) job.child.kill(signal);
      const { code } = await exitWithin(job, 10_000);
      expect(code, job.stderr()).toBe(signal ? 143 : 0);
      // the controller's teardown swept them before it exited: nothing to wait for
      expect(jobProcesses(s.jobId)).toEqual([]);
    },
  );
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}
