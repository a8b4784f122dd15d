import { describe, expect, it } from 'vitest';
import { sbatchEnvConflicts, withoutConflicts } from '../../src/core/sbatch-env.js';

const plan = {
  sbatch: [
    ['--job-name', 'raysl-train'],
    ['--nodes', '2'],
    ['--partition', 'gpu'],
    ['--time', '10'],
  ] as Array<[string, string]>,
};

describe('sbatch input environment vs the plan', () => {
  it.each([
    [{ SBATCH_PARTITION: 'debug' }, ['SBATCH_PARTITION']],
    [{ SBATCH_TIMELIMIT: '5', SBATCH_JOB_NAME: 'x' }, ['SBATCH_JOB_NAME', 'SBATCH_TIMELIMIT']],
    [{ SBATCH_ACCOUNT: 'proj' }, []], // raysl wrote no --account: the site default stays
    [{ SBATCH_GRES: 'gpu:8' }, ['SBATCH_GRES']], // GPU shape is raysl's whatever the plan says
    [{ PATH: '/bin', SLURM_CONF: '/etc/slurm.conf' }, []],
  ] as Array<[Record<string, string>, string[]]>)('%j -> drops %j', (env, dropped) => {
    expect(
      sbatchEnvConflicts(env, plan)
        .map((c) => c.name)
        .sort(),
    ).toEqual([...dropped].sort());
  });

  it('names the flag to use instead and removes only the conflicts', () => {
    const env = { SBATCH_PARTITION: 'debug', SBATCH_ACCOUNT: 'proj', HOME: '/root' };
    const conflicts = sbatchEnvConflicts(env, plan);
    expect(conflicts).toEqual([{ name: 'SBATCH_PARTITION', value: 'debug', instead: '--partition' }]);
    expect(withoutConflicts(env, conflicts)).toEqual({ SBATCH_ACCOUNT: 'proj', HOME: '/root' });
  });
});
