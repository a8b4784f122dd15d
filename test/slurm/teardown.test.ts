// scancel of a raysl job mid-run and mid-join leaves nothing on any node: no agent, no entrypoint,
// no process carrying the job's SLURM_JOB_ID. (Slurm's own cgroup sweep is the last line; raysl's
// controller also tears down on the TERM it gets first.)
import { describe, expect, it } from 'vitest';
import { cancel } from '../../src/slurm/scancel.js';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { alive, entrypointPid, holdEntrypoint, newJobRoot, rayslDone, waitForStatus } from './raysl-cli.js';

slurmConf();

async function submitHeld(name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ jobId: string; jobRoot: string }> {
  const jobRoot = newJobRoot(name);
  const hold = holdEntrypoint(jobRoot);
  const r = await rayslDone(['submit', '--json', '-N', '4', '--job-dir', jobRoot, ...extra, hold.path], { env });
  expect(r.code, r.stderr).toBe(0);
  return { jobId: (JSON.parse(r.stdout) as { jobId: string }).jobId, jobRoot };
}

describe('scancel leaves no process behind', () => {
  it('mid-run: agents, entrypoint and every job process are gone once the job ends', async () => {
    const { jobId, jobRoot } = await submitHeld('cancel-run');
    const s = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running');
    const pids = [...s.nodes.map((n) => n.pid!), entrypointPid(jobRoot, jobId)!];
    expect(pids.every((p) => p > 0 && alive(p))).toBe(true);
    expect(jobProcesses(jobId).length).toBeGreaterThanOrEqual(5);
    await cancel({ jobId });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('mid-join: with one node never joining, scancel while the others wait leaves nothing', async () => {
    const { jobId, jobRoot } = await submitHeld('cancel-join', ['--join-timeout', '60'], { RAYSL_TEST_HOOKS: '1', RAYSL_TEST_FAIL_AGENT: 'node4' });
    const s = await waitForStatus(jobRoot, jobId, '3 nodes joined', (x) => x.joined.length === 3 && x.nodes.every((n) => n.pid !== undefined));
    expect(s.state).toBe('forming');
    const pids = s.nodes.map((n) => n.pid!);
    await cancel({ jobId });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  });
});
