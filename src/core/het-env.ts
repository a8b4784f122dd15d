/**
 * A heterogeneous job's nodes, read from the batch step's environment (pure). In a het job Slurm
 * sets SLURM_JOB_NODELIST to component 0's nodes only; each component's nodes are in
 * SLURM_JOB_NODELIST_HET_GROUP_<k>, k < SLURM_HET_SIZE (recorded on Slurm 22.05:
 * test/fixtures/slurm/het-batch-env-22.05.txt). Older Slurm (17.11-19.05) said PACK instead of HET.
 */
import { UsageError } from './errors.js';
import { expandHostlist } from './nodelist.js';

export interface HetGroups {
  /** Nodes of each component, in component order (index = srun --het-group). */
  groups: string[][];
}

function read(env: Record<string, string | undefined>, name: string): string | undefined {
  return env[`SLURM_${name.replace('{}', 'HET')}`] ?? env[`SLURM_${name.replace('{}', 'PACK')}`];
}

/** undefined outside a het job (no SLURM_HET_SIZE); a het job missing a component's nodelist is refused. */
export function hetGroupsFromEnv(env: Record<string, string | undefined>): HetGroups | undefined {
  const sizeText = read(env, '{}_SIZE');
  if (sizeText === undefined) return undefined;
  const size = Number(sizeText);
  if (!Number.isInteger(size) || size < 1) {
    throw new UsageError(`SLURM_HET_SIZE must be a whole number >= 1, received ${JSON.stringify(sizeText)}`, {
      hint: 'the controller reads what Slurm set in the batch step; do not set SLURM_HET_SIZE by hand',
    });
  }
  const groups: string[][] = [];
  for (let k = 0; k < size; k++) {
    const list = read(env, `JOB_NODELIST_{}_GROUP_${k}`);
    if (list === undefined || list.trim() === '') {
      throw new UsageError(`SLURM_HET_SIZE is ${size} but SLURM_JOB_NODELIST_HET_GROUP_${k} is not set`, {
        hint: 'the controller reads what Slurm set in the batch step; run it inside the het job raysl submitted',
      });
    }
    groups.push(expandHostlist(list));
  }
  return { groups };
}
