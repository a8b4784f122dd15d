// --head-cpus-only on the real test cluster (Slurm 22.05, 4 nodes x 4 fake GPUs): the head runs in
// het component 0 without GPUs, the -N GPU nodes in component 1 run only workers. Checked from three
// sides: what the runtime reports, what the processes see (CUDA_VISIBLE_DEVICES), and what Slurm
// itself granted each component (`scontrol show job -d`, asked from inside the running job).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterNode, jobProcesses, slurmConf, waitForJobEnd } from './helpers.js';
import { newJobRoot, raysl, rayslDone, readJobStatus, root, submittedId } from './raysl-cli.js';
import { activate, cleanUp, rayStartLine, within } from './ray-helpers.js';

slurmConf();
const train = join(root, 'examples', 'train.ts');
const jobIdOf = (stderr: string): string => /submitted job (\d+)/.exec(stderr)![1]!;

describe('--head-cpus-only (het job) on Slurm', () => {
  it('builtin: -N 2 --gpus-per-node 1 forms 3 nodes, the head with 0 GPUs, each worker with 1; exit 0; nothing left', async () => {
    const jobRoot = newJobRoot('het-builtin');
    const r = await rayslDone([
      'submit',
      '--head-cpus-only',
      '-N',
      '2',
      '--gpus-per-node',
      '1',
      '--job-dir',
      jobRoot,
      train,
      '--follow',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cluster ready: 3\/3 nodes/);
    expect(r.stdout).toMatch(/3 nodes, 12 CPUs, 2 GPUs \(runtime builtin\)/);
    const jobId = jobIdOf(r.stderr);
    const status = readJobStatus(jobRoot, jobId)!;
    expect(status).toMatchObject({ state: 'succeeded', exitCode: 0, launcher: 'srun' });
    const head = status.nodes.find((n) => n.role === 'head')!;
    const workers = status.nodes.filter((n) => n.role === 'worker').map((n) => n.name);
    expect(workers).toHaveLength(2);
    expect(r.stderr).toMatch(new RegExp(`${head.name} joined \\(4 CPU, 0 GPU\\)`));
    for (const w of workers) expect(r.stderr).toMatch(new RegExp(`${w} joined \\(4 CPU, 1 GPU\\)`));
    // train.ts: one row per node with the GPUs its processes see ("none" = CUDA_VISIBLE_DEVICES empty)
    const addr = (n: string) => clusterNode(n).addr.replaceAll('.', '\\.');
    expect(r.stdout).toMatch(new RegExp(`^${head.name}\\s+head\\s+${addr(head.name)}\\s+4\\s+none\\s`, 'm'));
    for (const w of workers) expect(r.stdout).toMatch(new RegExp(`^${w}\\s+worker\\s+${addr(w)}\\s+4\\s+\\d\\s`, 'm'));
    // raysl status tells the same story after the job
    const st = await rayslDone(['status', jobId, '--job-dir', jobRoot, '--json']);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it("Slurm's own view from inside the job: component 0 (the head) has no GRES, each component-1 node one GPU; the entrypoint's code (7) passes through", async () => {
    const jobRoot = newJobRoot('het-scontrol');
    const entry = join(jobRoot, 'show-job.sh');
    writeFileSync(
      entry,
      '#!/bin/bash\necho "entrypoint CUDA_VISIBLE_DEVICES=[${CUDA_VISIBLE_DEVICES-unset}]"\nscontrol show job -d "$SLURM_JOB_ID"\nexit 7\n',
    );
    chmodSync(entry, 0o755);
    const r = await rayslDone([
      'submit',
      '--head-cpus-only',
      '-N',
      '2',
      '--gpus-per-node',
      '1',
      '--job-dir',
      jobRoot,
      entry,
      '--follow',
    ]);
    expect(r.code, r.stderr).toBe(7);
    const jobId = jobIdOf(r.stderr);
    // the entrypoint runs on the head: no GPU ids there
    expect(r.stdout).toMatch(/^entrypoint CUDA_VISIBLE_DEVICES=\[(unset)?\]$/m);
    const records = r.stdout.split(/\n(?=JobId=)/).filter((rec) => rec.startsWith('JobId='));
    expect(records).toHaveLength(2);
    const [c0, c1] = records as [string, string];
    expect(c0).toMatch(new RegExp(`HetJobId=${jobId} HetJobOffset=0`));
    expect(c0).toMatch(/NumNodes=1 /);
    expect(c0).toMatch(/JOB_GRES=\(null\)/);
    expect(c1).toMatch(new RegExp(`HetJobId=${jobId} HetJobOffset=1`));
    expect(c1).toMatch(/NumNodes=2 /);
    expect(c1).toMatch(/JOB_GRES=gpu:2/);
    expect(c1).toMatch(/ GRES=gpu:1\(IDX:\d\)/);
    expect(readJobStatus(jobRoot, jobId)).toMatchObject({ state: 'failed', exitCode: 7 });
    await waitForJobEnd(jobId);
    expect(jobProcesses(jobId)).toEqual([]);
  });

  it("ray (real Ray 2.60): the head starts with --num-gpus=0 and Ray reports 0 GPUs on it, 1 on each worker; train.py's checks pass", {
    timeout: 300_000,
  }, async () => {
    const jobRoot = newJobRoot('het-ray');
    const c = raysl([
      'submit',
      '--head-cpus-only',
      '-N',
      '2',
      '--gpus-per-node',
      '1',
      '--job-dir',
      jobRoot,
      ...activate(),
      join(root, 'examples', 'train.py'),
      '--follow',
    ]);
    let jobId: string | undefined;
    try {
      jobId = await submittedId(c);
      const code = await within(c.exited, 240_000, `job ${jobId} (train.py) to end`);
      expect(code, c.stderr()).toBe(0);
      const out = c.stdout();
      expect(out).toMatch(/^nodes alive: 3$/m);
      expect(out).toMatch(/^cluster resources: CPU=12 GPU=2$/m);
      expect(out).toMatch(/^node \S+ \(head\): CPU=4 GPU=0$/m);
      expect(out.match(/^node \S+: CPU=4 GPU=1$/gm)).toHaveLength(2);
      expect(out).toMatch(/^checks: all passed$/m);
      const nodes = readJobStatus(jobRoot, jobId)!.nodes;
      expect(rayStartLine(jobRoot, jobId, nodes.find((n) => n.role === 'head')!.name)).toMatch(
        / --head .*--num-gpus=0 /,
      );
      for (const w of nodes.filter((n) => n.role === 'worker'))
        expect(rayStartLine(jobRoot, jobId, w.name)).toMatch(/--num-gpus=1 /);
      await waitForJobEnd(jobId);
      expect(jobProcesses(jobId)).toEqual([]);
    } finally {
      await cleanUp([c], jobId ? [jobId] : []);
    }
  });
});
