// Issue 16, "Wrong semantics": a run the user interrupted or cancelled ends as such (130/143/129,
// state cancelled) whatever the entrypoint did with the signal; HUP tears down in order; a forced
// end after `raysl cancel --grace` still reads cancelled; a dead controller's nodes read truthfully.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { ensureBuilt, exitWithin, fixtures, jobGone, rayslSync as raysl, runLocal, statusWhere } from './helpers.js';
import { withFaults } from '../support/fault-env.js';

beforeAll(() => ensureBuilt(), 120_000);

function statusJson(jobRoot: string, jobId: string): { state: string; status: JobStatus } {
  const r = raysl(['status', jobId, '--json', '--job-dir', jobRoot]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { state: string; status: JobStatus };
}

describe("the exit code of an interrupted run is the signal's, not the entrypoint's", () => {
  it.each([
    ['SIGTERM', 'checkpoint.sh', 143, {}],
    ['SIGINT', 'checkpoint.sh', 130, {}],
    // ignores TERM: KILLed at the end of the grace (137 as its own code), still 143 for the run
    ['SIGTERM', 'stubborn.sh', 143, withFaults({ RAYSL_TEST_GRACE_MS: '300' })],
    // the terminal closed: an orderly teardown as on TERM (before: the controller died at once, the job read lost)
    ['SIGHUP', 'checkpoint.sh', 129, {}],
  ] as const)(
    '%s with %s exits %i; status cancelled, every node stopped, nothing left',
    async (signal, entry, expected, env) => {
      const job = runLocal(['-N', '2', join(fixtures, entry)], { env });
      await job.waitFor(/ready \d+/);
      const s = await statusWhere(job, (x) => x.state === 'running');
      job.child.kill(signal);
      const { code } = await exitWithin(job, 10_000);
      expect(code, job.stderr()).toBe(expected);
      const after = statusJson(job.jobRoot, s.jobId);
      expect(after.state).toBe('cancelled');
      expect(after.status.exitCode).toBe(expected);
      expect(after.status.nodes.map((n) => n.state)).toEqual(['stopped', 'stopped']);
      // the entrypoint's own ending stays in the timeline
      const own = after.status.timeline.find((e) => e.phase === 'entrypoint-exited')?.code;
      expect(own).toBe(entry === 'checkpoint.sh' ? 0 : 137);
      expect(await jobGone(s.jobId, 5000)).toEqual([]);
    },
  );
});

describe('a controller that does not end within raysl cancel --grace', () => {
  it('is killed and the job reads cancelled (as asked), its nodes as their agents ended', async () => {
    // the controller gives the TERM-ignoring entrypoint 3 s: longer than --grace 1
    const job = runLocal(['-N', '2', join(fixtures, 'stubborn.sh')]);
    await job.waitFor(/ready \d+/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    const r = raysl(['cancel', s.jobId, '--grace', '1', '--json', '--job-dir', job.jobRoot]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { how: string; state: string };
    expect(result.how).toBe('forced');
    expect(result.state).toBe('cancelled');
    await exitWithin(job, 5000);
    expect(await jobGone(s.jobId, 10_000)).toEqual([]);
    const after = statusJson(job.jobRoot, s.jobId);
    expect(after.state).toBe('cancelled');
    expect((after as { reason?: string }).reason).toMatch(
      /raysl cancel asked for an orderly stop .* after the 1s --grace and was killed/,
    );
    expect(after.status.nodes.filter((n) => n.state === 'joined')).toEqual([]);
  });
});

describe('a local controller killed mid-run', () => {
  it('status reads lost and no node reads joined (each as its agent ended)', async () => {
    const job = runLocal(['-N', '2', join(fixtures, 'wait.sh')]);
    await job.waitFor(/ready \d+/);
    const s = await statusWhere(job, (x) => x.state === 'running');
    job.child.kill('SIGKILL');
    await exitWithin(job, 5000);
    expect(await jobGone(s.jobId, 10_000)).toEqual([]);
    const after = statusJson(job.jobRoot, s.jobId);
    expect(after.state).toBe('lost');
    expect(after.status.nodes.map((n) => n.state)).toEqual(['stopped', 'stopped']);
    expect(after.status.nodes[0]!.reason).toMatch(/its agent ended at .* \(lost\)/);
  });
});
