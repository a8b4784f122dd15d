// --head-cpus-only under `run --local`: the same plan, controller and agents as on Slurm (the het
// components themselves are Slurm's: test/slurm/head-cpus-only.test.ts); the simulated head is a
// node without GPUs and the workers keep theirs.
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, exitWithin, jobGone, runLocal } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('run --local --head-cpus-only', () => {
  it('-N 2 --gpus-per-node 1: 3 nodes, the head sees no GPU, each worker one; no warning about GPU nodes; nothing left', async () => {
    const job = runLocal(['--head-cpus-only', '-N', '2', '--gpus-per-node', '1', 'examples/train.ts']);
    const { code } = await exitWithin(job, 60_000);
    expect(code, job.stderr()).toBe(0);
    expect(job.stdout()).toMatch(/3 nodes, 12 CPUs, 2 GPUs \(runtime builtin\)/);
    expect(job.stdout()).toMatch(/^node1\s+head\s+\S+\s+4\s+none\s/m);
    expect(job.stdout()).toMatch(/^node2\s+worker\s+\S+\s+4\s+0\s/m);
    expect(job.stdout()).toMatch(/^node3\s+worker\s+\S+\s+4\s+0\s/m);
    expect(job.stderr()).toMatch(/node1 joined \(4 CPU, 0 GPU\)/);
    expect(job.stderr()).not.toMatch(/no node without GPUs/);
    const s = job.status();
    expect(s).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(await jobGone(s.jobId, 10_000)).toEqual([]);
  });
});
