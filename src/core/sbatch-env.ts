/**
 * sbatch's input environment variables (SBATCH_PARTITION, SBATCH_TIMELIMIT, ...) override the
 * #SBATCH lines of the script. A shell that exports one would silently change a job raysl planned
 * and checked, so `submit` drops those that fight an option raysl wrote (or a resource shape raysl
 * owns) from sbatch's environment and says so. Variables that touch nothing raysl set are kept.
 */
import type { Plan } from './types.js';

/** sbatch option -> the input variables that override it (sbatch(1), "INPUT ENVIRONMENT VARIABLES"). */
const OVERRIDES: Record<string, string[]> = {
  '--job-name': ['SBATCH_JOB_NAME'],
  '--partition': ['SBATCH_PARTITION'],
  '--time': ['SBATCH_TIMELIMIT'],
  '--signal': ['SBATCH_SIGNAL'],
  '--account': ['SBATCH_ACCOUNT'],
  '--qos': ['SBATCH_QOS'],
  '--reservation': ['SBATCH_RESERVATION'],
  '--constraint': ['SBATCH_CONSTRAINT'],
  '--exclusive': ['SBATCH_EXCLUSIVE'],
  '--gpus-per-node': ['SBATCH_GPUS_PER_NODE'],
  '--mem': ['SBATCH_MEM_PER_NODE'],
};

/** Shape variables raysl owns whatever the plan says: they would change what each node is granted. */
const ALWAYS_OWNED = [
  'SBATCH_GPUS',
  'SBATCH_GRES',
  'SBATCH_GPUS_PER_TASK',
  'SBATCH_GPUS_PER_SOCKET',
  'SBATCH_CPUS_PER_GPU',
  'SBATCH_MEM_PER_CPU',
  'SBATCH_MEM_PER_GPU',
  'SBATCH_ARRAY_INX',
  'SBATCH_WAIT',
];

export interface SbatchEnvConflict {
  name: string;
  value: string;
  /** The raysl flag to use instead. */
  instead: string;
}

export function sbatchEnvConflicts(
  env: Record<string, string | undefined>,
  plan: Pick<Plan, 'sbatch' | 'hetjob'>,
): SbatchEnvConflict[] {
  const conflicts: SbatchEnvConflict[] = [];
  // a heterogeneous job's worker component has lines of its own (--gpus-per-node among them)
  const flags = new Set([...plan.sbatch, ...(plan.hetjob?.[1].sbatch ?? [])].map(([flag]) => flag));
  for (const flag of flags) {
    for (const name of OVERRIDES[flag] ?? []) {
      const value = env[name];
      if (value !== undefined) conflicts.push({ name, value, instead: flag });
    }
  }
  for (const name of ALWAYS_OWNED) {
    const value = env[name];
    if (value !== undefined)
      conflicts.push({ name, value, instead: 'the raysl job flags (--gpus-per-node, -c, --mem)' });
  }
  return conflicts;
}

/** The environment for sbatch with the conflicting variables removed. */
export function withoutConflicts(
  env: Record<string, string | undefined>,
  conflicts: SbatchEnvConflict[],
): Record<string, string | undefined> {
  const out = { ...env };
  for (const c of conflicts) delete out[c.name];
  return out;
}
