import { describe, expect, it } from 'vitest';
import { checkGrant, grantedFromEnv } from '../../src/agent/granted.js';

describe('what Slurm granted an agent', () => {
  it.each([
    [
      { SLURM_CPUS_ON_NODE: '4', CUDA_VISIBLE_DEVICES: '0,1', SLURM_GPUS_ON_NODE: '2' },
      { cpus: 4, gpus: 2, gpuIds: ['0', '1'] },
    ],
    [
      { SLURM_CPUS_PER_TASK: '8', SLURM_STEP_GPUS: '2,3' },
      { cpus: 8, gpus: 2, gpuIds: ['2', '3'] },
    ],
    [{ SLURM_GPUS_ON_NODE: '4' }, { gpus: 4, gpuIds: [] }],
    [{ CUDA_VISIBLE_DEVICES: '' }, { gpus: 0, gpuIds: [] }],
    [{ CUDA_VISIBLE_DEVICES: 'NoDevFiles' }, { gpus: 0, gpuIds: [] }],
    [{ SLURM_CPUS_ON_NODE: '4(x2)' }, { cpus: 4, gpuIds: [] }],
    [{}, { gpuIds: [] }],
  ])('reads %j', (env, granted) => expect(grantedFromEnv(env)).toEqual(granted));

  it('refuses fewer GPUs than planned, naming the node and what was bound', () => {
    const d = checkGrant({ cpus: 4, gpus: 1, gpuIds: ['3'] }, { cpus: 4, gpus: 2 }, 'node3');
    expect(d.ok).toBe(false);
    expect(d.problem).toMatch(/node3: the plan needs 2 GPU\(s\) per node but Slurm bound 1 .*CUDA_VISIBLE_DEVICES=3/);
    expect(d.hint).toMatch(/never claims GPUs/);
  });

  it('refuses GPUs when Slurm bound none', () => {
    expect(checkGrant({ gpuIds: [] }, { cpus: 1, gpus: 1 }, 'n').ok).toBe(false);
  });

  it('refuses fewer CPUs than planned', () => {
    expect(checkGrant({ cpus: 2, gpuIds: [] }, { cpus: 4, gpus: 0 }, 'n').problem).toMatch(
      /needs 4 CPU\(s\).*granted 2/,
    );
  });

  it('claims only what the plan says when Slurm bound more', () => {
    const d = checkGrant({ cpus: 16, gpus: 4, gpuIds: ['0', '1', '2', '3'] }, { cpus: 4, gpus: 2 }, 'n');
    expect(d).toMatchObject({ ok: true, resources: { cpus: 4, gpus: 2 }, gpuIds: ['0', '1'] });
  });
});
