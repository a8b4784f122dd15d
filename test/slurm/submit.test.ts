// raysl submit on the real test cluster: the rendered job runs (controller in the batch step, agents
// as srun steps), --follow streams the output and exits with the job's code, --dry-run submits
// nothing, and a job that Slurm ends before the controller starts exits 3 with Slurm's reason.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePortRecord } from '../../src/core/ports.js';
import { listJobs } from '../../src/slurm/squeue.js';
import { cancel } from '../../src/slurm/scancel.js';
import { clusterNode, jobProcesses, slurmConf, waitForJobEnd, waitForJobState } from './helpers.js';
import { newJobRoot, raysl, rayslDone, readJobStatus, root, submittedId } from './raysl-cli.js';

slurmConf();
const train = join(root, 'examples', 'train.ts');

describe('raysl submit', () => {
  it('runs a 4-node job: every node joins with its own GPUs, output streamed, exit 0, files and port record in place', async () => {
    const jobRoot = newJobRoot('submit4');
    const r = await rayslDone(['submit', '-N', '4', '--gpus-per-node', '2', '--job-dir', jobRoot, train, '--follow']);
    expect(r.stderr).toMatch(/cluster ready: 4\/4 nodes/);
    expect(r.code, r.stderr).toBe(0);
    // train.ts prints one row per node: name, role, address (the node's own), cpus, GPUs its processes see, hostname
    for (const [i, node] of ['node1', 'node2', 'node3', 'node4'].entries()) {
      const addr = clusterNode(node).addr.replaceAll('.', '\\.');
      expect(r.stdout).toMatch(
        new RegExp(
          `^${node}\\s+${i === 0 ? 'head' : 'worker'}\\s+${addr}\\s+4\\s+0,1\\s+${node}\\s+${node}\\s+\\d+-\\d+\\s+0\\s*$`,
          'm',
        ),
      );
    }
    expect(r.stdout).toMatch(/4 nodes, 16 CPUs, 8 GPUs \(runtime builtin\)/);
    const jobId = /submitted job (\d+)/.exec(r.stderr)![1]!;
    for (const n of [1, 2, 3, 4]) expect(r.stderr).toMatch(new RegExp(`node${n} joined \\(4 CPU, 2 GPU\\)`));
    const dir = join(jobRoot, jobId);
    for (const f of [
      'job.sh',
      'plan.json',
      'status.json',
      'controller.log',
      'entrypoint.log',
      'ports.json',
      'agent-node1.log',
      'agent-node4.log',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readdirSync(jobRoot).some((f) => /^raysl-\d{8}-\d{6}-\d{3}-\d+\.sbatch$/.test(f))).toBe(true);
    const status = readJobStatus(jobRoot, jobId)!;
    expect(status).toMatchObject({
      state: 'succeeded',
      exitCode: 0,
      launcher: 'srun',
      joined: expect.arrayContaining(['node1', 'node2', 'node3', 'node4']),
    });
    // the block is recorded where other jobs look for it: the Slurm job's Comment
    const job = (await listJobs({ jobIds: [jobId] })).find((j) => j.id === jobId)!;
    expect(parsePortRecord(job.comment)).toEqual(status.portBlock);
    expect(JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8'))).toMatchObject(status.portBlock!);
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it("exits with the entrypoint's own code (7)", async () => {
    const jobRoot = newJobRoot('submit7');
    const r = await rayslDone(['submit', '-N', '2', '--job-dir', jobRoot, train, '--follow', '--', '--fail-with', '7']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/exiting with 7 as asked|failed \(exit 7\)/);
  });

  it('--dry-run prints the sbatch command and the script and submits nothing', async () => {
    const jobRoot = newJobRoot('dry');
    const before = (await listJobs({ states: ['all'] })).length;
    const r = await rayslDone(['submit', '--dry-run', '-N', '2', '--job-dir', join(jobRoot, 'sub'), train]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# sbatch --parsable \S+\/sub\/raysl-\d{8}-\d{6}-\d{3}-\d+\.sbatch\n#!\/bin\/bash\n/);
    expect(r.stdout).toMatch(/^#SBATCH --nodes=2$/m);
    expect(r.stdout).toMatch(/^exec .* controller --plan-from - <<'RAYSL_PLAN'$/m);
    expect(existsSync(join(jobRoot, 'sub'))).toBe(false);
    expect((await listJobs({ states: ['all'] })).length).toBe(before);
  });

  it('--json prints {jobId, jobDir, script}', async () => {
    const jobRoot = newJobRoot('json');
    const r = await rayslDone(['submit', '--json', '-N', '1', '--job-dir', jobRoot, train]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { jobId: string; jobDir: string; script: string };
    expect(out.jobDir).toBe(join(jobRoot, out.jobId));
    expect(readFileSync(join(out.jobDir, 'job.sh'), 'utf8')).toBe(readFileSync(out.script, 'utf8'));
    await waitForJobState(out.jobId, ['COMPLETED']);
  });

  it('several submits into one job dir at once each submit their own script (none overwrites another)', async () => {
    const jobRoot = newJobRoot('together');
    const who = ['a', 'b', 'c', 'd'];
    const runs = await Promise.all(
      who.map((w) =>
        rayslDone([
          'submit',
          '--json',
          '-N',
          '1',
          '--sbatch-arg=--hold',
          '--env',
          `WHO=${w}`,
          '--job-dir',
          jobRoot,
          train,
        ]),
      ),
    );
    const outs = runs.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { jobId: string; jobDir: string; script: string };
    });
    try {
      expect(new Set(outs.map((o) => o.script)).size).toBe(who.length);
      outs.forEach((o, i) =>
        expect(readFileSync(join(o.jobDir, 'job.sh'), 'utf8')).toContain(`export WHO=${who[i]}\n`),
      );
    } finally {
      for (const o of outs) await cancel({ jobId: o.jobId });
      for (const o of outs) await waitForJobEnd(o.jobId);
    }
  });

  it("a job cancelled while pending ends --follow with exit 3 and Slurm's state", async () => {
    const jobRoot = newJobRoot('pending');
    const c = raysl(['submit', '-N', '1', '--sbatch-arg=--hold', '--job-dir', jobRoot, train, '--follow']);
    const jobId = await submittedId(c);
    await c.waitFor(/pending \(JobHeldUser\)/);
    await cancel({ jobId });
    expect(await c.exited).toBe(3);
    expect(c.stderr()).toMatch(new RegExp(`job ${jobId} ended CANCELLED .*before the raysl controller started`));
    expect(c.stderr()).toMatch(/hint: /);
  });
});
