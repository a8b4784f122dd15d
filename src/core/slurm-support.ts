/**
 * Which Slurm raysl runs on (pure). The floor is the oldest release that has every flag and
 * variable raysl's script and agent steps use: `srun --overlap` (Slurm 20.11: agent steps share
 * their nodes with the entrypoint's own steps; older srun rejects the flag, and the job would fail
 * only when its agents launch, after its wait in the queue), `srun --het-group`, `#SBATCH hetjob` and
 * SLURM_JOB_NODELIST_HET_GROUP_<k> (20.02), `--gpus-per-node` (19.05). Tested: the releases the test
 * cluster runs (docs/slurm-versions.md).
 */
import { UsageError } from './errors.js';

export interface SlurmVersion {
  major: number;
  minor: number;
  micro: number;
  text: string;
}

export const OLDEST_SUPPORTED_SLURM = { major: 20, minor: 11 } as const;
export const TESTED_SLURM = ['22.05', '24.11'] as const;

const releaseText = (v: { major: number; minor: number }): string => `${v.major}.${String(v.minor).padStart(2, '0')}`;
const older = (a: { major: number; minor: number }, b: { major: number; minor: number }): boolean =>
  a.major < b.major || (a.major === b.major && a.minor < b.minor);

/** Throws (exit 2) below the floor; returns a warning for a supported release older than every tested one. */
export function slurmSupport(v: SlurmVersion): { warning?: string } {
  const floor = releaseText(OLDEST_SUPPORTED_SLURM);
  if (older(v, OLDEST_SUPPORTED_SLURM)) {
    throw new UsageError(
      `Slurm ${v.text} is older than ${floor}, the oldest raysl supports (its agent steps need srun --overlap, new in ${floor})`,
      {
        hint: `submit from a cluster with Slurm ${floor} or newer (tested: ${TESTED_SLURM.join(', ')}); sbatch --version tells which one you have`,
        details: { slurmVersion: v.text, oldestSupported: floor, tested: [...TESTED_SLURM] },
      },
    );
  }
  const [oldestTested] = TESTED_SLURM;
  const [major, minor] = oldestTested.split('.').map(Number) as [number, number];
  if (older(v, { major, minor })) {
    return {
      warning: `Slurm ${v.text} is supported but untested: raysl is tested on Slurm ${TESTED_SLURM.join(' and ')}`,
    };
  }
  return {};
}
