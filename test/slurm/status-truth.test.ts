// SIGKILL of the controller of a `submit --follow -N 2` job: status.json stays `running` for good,
// but `raysl status` and `raysl ls --all` read the job as lost, with Slurm's word for why.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { until } from '../support/until.js';
import {
  holdEntrypoint,
  newJobRoot,
  raysl,
  rayslDone,
  readJobStatus,
  submittedId,
  waitForStatus,
} from './raysl-cli.js';

slurmConf();

describe('raysl status after the controller is killed', () => {
  it('reads as lost with why (status.json still says running), in status and in ls --all', async () => {
    const jobRoot = newJobRoot('status-truth');
    const hold = holdEntrypoint(jobRoot);
    const dirArgs = ['--job-dir', jobRoot];
    const c = raysl(['submit', '-N', '2', ...dirArgs, hold.path, '--follow']);
    const jobId = await submittedId(c);
    const s = await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running');
    await c.waitFor(/holding until/, 30_000, 'stdout');
    expect(s.controllerPid, 'controller pid in status.json').toBeGreaterThan(0);
    // the controller carries the job's marker like every other process of the job (issue 16)
    expect(readFileSync(`/proc/${s.controllerPid}/environ`, 'utf8').split('\0')).toContain(`RAYSL_JOB_ID=${jobId}`);
    process.kill(s.controllerPid!, 'SIGKILL');
    await c.exited;

    const view = await until(
      'raysl status to stop saying running',
      async () => {
        const r = await rayslDone(['status', jobId, '--json', ...dirArgs]);
        expect(r.code, r.stderr).toBe(0);
        const v = JSON.parse(r.stdout) as { state: string; reason?: string };
        return v.state === 'running' ? undefined : v;
      },
      30_000,
    );
    expect(readJobStatus(jobRoot, jobId)?.state).toBe('running');
    expect(view.state).toBe('lost');
    expect(view.reason).toMatch(
      /^(Slurm ended the job [A-Z_]+( \(.*\))? before the controller wrote a final state|Slurm no longer lists the job); status\.json still says running$/,
    );
    const text = await rayslDone(['status', jobId, ...dirArgs]);
    expect(text.stdout).toMatch(new RegExp(`^job ${jobId}  lost  .*\\nwhy: Slurm `));

    const rows = JSON.parse((await rayslDone(['ls', '--all', '--json', ...dirArgs])).stdout) as Array<{
      id: string;
      state: string;
      reason?: string;
    }>;
    expect(rows.find((r) => r.id === jobId)).toMatchObject({ state: 'lost', reason: expect.stringMatching(/^Slurm /) });

    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });
});
