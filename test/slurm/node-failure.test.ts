// Issue 16: a node of a running job fails (slurmctld marks it DOWN: Slurm ends the job NODE_FAIL).
// raysl renders --no-requeue, so the job is not run a second time, and the node failure reads as
// one exit code, 5, in submit --follow and in status, whichever signal reached the controller
// first. The cluster is shared: the node is taken down only while it runs this job alone, and is
// resumed in a finally.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { expandHostlist } from '../../src/core/nodelist.js';
import { listJobs } from '../../src/slurm/squeue.js';
import { slurmConf, waitForJobEnd } from './helpers.js';
import { until } from '../support/until.js';
import { holdEntrypoint, newJobRoot, raysl, rayslDone, submittedId, waitForStatus } from './raysl-cli.js';

slurmConf();

const scontrol = (...args: string[]) => spawnSync('scontrol', args, { encoding: 'utf8', env: process.env });
let downed: string | undefined;

afterAll(() => {
  if (downed) scontrol('update', `NodeName=${downed}`, 'State=RESUME');
});

describe('a node fails under a running job', () => {
  it('the job is not requeued, submit --follow exits 5 and status reads failed with 5', async () => {
    const jobRoot = newJobRoot('node-failure');
    const hold = holdEntrypoint(jobRoot);
    const dirArgs = ['--job-dir', jobRoot];
    const c = raysl(['submit', '-N', '2', ...dirArgs, hold.path, '--follow']);
    const jobId = await submittedId(c);
    const s = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running', 120_000);
    await c.waitFor(/holding until/, 30_000, 'stdout');
    const worker = s.nodes.find((n) => n.role === 'worker')!.name;
    // take the worker down only while no other job runs on it (the cluster is shared)
    await until(
      `${worker} to run this job alone`,
      async () => {
        const others = (await listJobs({}, { env: process.env })).filter(
          (j) =>
            j.id !== jobId && j.state === 'RUNNING' && j.nodelist !== '' && expandHostlist(j.nodelist).includes(worker),
        );
        return others.length === 0 ? true : undefined;
      },
      120_000,
    );
    downed = worker;
    const r = scontrol('update', `NodeName=${worker}`, 'State=DOWN', 'Reason=raysl-node-failure-test');
    expect(r.status, r.stderr).toBe(0);
    try {
      const code = await c.exited;
      expect(code, c.stderr()).toBe(5);
      expect(c.stderr()).toMatch(/NODE_FAIL|node node\d was lost/);
      await waitForJobEnd(jobId, { timeoutMs: 60_000 });
    } finally {
      scontrol('update', `NodeName=${worker}`, 'State=RESUME');
      downed = undefined;
    }
    const view = JSON.parse((await rayslDone(['status', jobId, '--json', ...dirArgs])).stdout) as {
      state: string;
      exitCode: number;
      slurm?: { state: string };
    };
    expect(view.state).toBe('failed');
    expect(view.exitCode).toBe(5);
    // --no-requeue: Slurm did not put it back in the queue to run the entrypoint again
    expect(view.slurm?.state ?? 'NODE_FAIL').not.toBe('PENDING');
    const sacct = scontrol('show', 'job', jobId);
    expect(sacct.stdout).not.toMatch(/Restarts=[1-9]/);
    expect(sacct.stdout).toMatch(/Requeue=0/);
  }, 300_000);
});
