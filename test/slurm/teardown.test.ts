// status, ls, logs and cancel on a live job, and cancel's order (controller first). scancel mid-run
// and mid-join are rows of the fault matrix (test/support/fault-matrix.ts).
import { describe, expect, it } from 'vitest';
import { jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { processAlive } from '../../src/proc/identity.js';
import { holdEntrypoint, newJobRoot, raysl, rayslDone, waitForStatus } from './raysl-cli.js';

slurmConf();

async function submitHeld(
  name: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ jobId: string; jobRoot: string }> {
  const jobRoot = newJobRoot(name);
  const hold = holdEntrypoint(jobRoot);
  const r = await rayslDone(['submit', '--json', '-N', '4', '--job-dir', jobRoot, ...extra, hold.path], { env });
  expect(r.code, r.stderr).toBe(0);
  return { jobId: (JSON.parse(r.stdout) as { jobId: string }).jobId, jobRoot };
}

describe('raysl status, ls, logs and cancel on a live job', () => {
  it('show the running job, then cancel stops it in order (controller first) and leaves nothing', async () => {
    const { jobId, jobRoot } = await submitHeld('cancel-cli', ['-J', 'raysl-cli-test']);
    await waitForStatus(jobRoot, jobId, 'state running', (x) => x.state === 'running');
    const dirArgs = ['--job-dir', jobRoot];

    const ls = await rayslDone(['ls', '--json', ...dirArgs]);
    expect(ls.code, ls.stderr).toBe(0);
    const row = (JSON.parse(ls.stdout) as Array<Record<string, string>>).find((r) => r.id === jobId);
    expect(row).toMatchObject({
      name: 'raysl-cli-test',
      state: 'running',
      nodes: 'node[1-4]',
      ports: expect.stringMatching(/^\d+-\d+$/),
    });

    const st = await rayslDone(['status', ...dirArgs]); // no id: the newest job in the dir
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`^job ${jobId}  running  slurm RUNNING`));
    expect(st.stdout).toMatch(/cluster ready: 4\/4 nodes/);

    const out = await rayslDone(['logs', jobId, ...dirArgs]);
    expect(out.stdout).toMatch(/holding until/);
    const agent = await rayslDone(['logs', jobId, '--node', 'node3', ...dirArgs]);
    expect(agent.stdout).toMatch(/\[node3\] joined/);

    const follow = raysl(['logs', jobId, '--follow', ...dirArgs]);
    await follow.waitFor(/holding until/, 10_000, 'stdout');
    const pids = (
      await waitForStatus(jobRoot, jobId, 'agent pids', (x) => x.nodes.every((n) => n.pid !== undefined))
    ).nodes.map((n) => n.pid!);
    const c = await rayslDone(['cancel', jobId, '--json', ...dirArgs]);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ jobId, how: 'graceful', state: 'cancelled', exitCode: 143 });
    expect(await follow.exited).toBe(0);
    const status = await waitForStatus(jobRoot, jobId, 'final', (x) => x.state === 'cancelled');
    expect(status.timeline.map((e) => e.phase)).toContain('torn-down');
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);

    const again = await rayslDone(['cancel', jobId, ...dirArgs]);
    expect(again.stdout).toMatch(/already over/);
  });
});
