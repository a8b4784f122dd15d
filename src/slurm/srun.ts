/**
 * srun argv for the agent steps the raysl controller launches from the batch step (pure).
 *
 * Measured on the test cluster (Slurm 22.05.8, job `sbatch -N4 --gpus-per-node=4`, head step
 * `-N1 -w node1 --gpus-per-node=4` and worker step `-N3 -w node[2-4] --gpus-per-node=4`, both
 * backgrounded from the batch script):
 * - No flag: both agent steps start (they sit on disjoint nodes, and the batch step does not count),
 *   but in 22.05 a step takes the whole node by default, so ANY further step on those nodes (an
 *   `srun` from the entrypoint, a retry, a debug `srun --jobid`) blocks with "Requested nodes are
 *   busy" until the agents exit.
 * - `--exact`: same blocking here, because the agents ask for every GPU on the node.
 * - `--overlap` on both agent steps: they start at once, later steps start at once too (~50 ms),
 *   and Slurm still binds GPUs: each agent task sees CUDA_VISIBLE_DEVICES=0,1,2,3 (its
 *   --gpus-per-node), SLURM_STEP_GPUS likewise.
 * So the agent steps use `--overlap` (the default here). Always pass --ntasks explicitly: srun in
 * a batch step inherits SLURM_NTASKS/SLURM_NTASKS_PER_NODE from sbatch and would otherwise warn
 * or ask for the wrong task count.
 */
import { UsageError } from '../core/errors.js';

export interface SrunRequest {
  nodes: number;
  /** The component of a heterogeneous job the step runs in (`--het-group`); its nodes must be in it. */
  hetGroup?: number;
  /** Hostlist the step must run on (a subset of the allocation), e.g. "node[2-4]". */
  nodelist: string;
  ntasksPerNode: number;
  gpusPerNode?: number;
  cpusPerTask?: number;
  /** Run next to other steps of the job on the same nodes (see the finding above). */
  overlap: boolean;
  /** Take only the requested CPUs instead of the whole node. */
  exact?: boolean;
  jobName?: string;
  /** srun --output pattern, e.g. "/jobs/123/agent-%N.log". */
  output?: string;
  /** Further srun options, placed before the command. */
  extra?: readonly string[];
  /** The program and its arguments (not a shell string). */
  command: readonly string[];
}

export function srunArgv(req: SrunRequest): string[] {
  positiveInt('nodes', req.nodes);
  positiveInt('ntasksPerNode', req.ntasksPerNode);
  if (req.gpusPerNode !== undefined && !(Number.isInteger(req.gpusPerNode) && req.gpusPerNode >= 0)) {
    throw new UsageError(`gpusPerNode must be an integer >= 0, received ${req.gpusPerNode}`, {
      hint: 'pass a whole number of GPUs per node',
    });
  }
  if (req.cpusPerTask !== undefined) positiveInt('cpusPerTask', req.cpusPerTask);
  if (req.nodelist.trim() === '' || /\s/.test(req.nodelist)) {
    throw new UsageError(`srun needs a hostlist without spaces, received ${JSON.stringify(req.nodelist)}`, {
      hint: 'pass e.g. node[2-4]',
    });
  }
  const [program] = req.command;
  if (program === undefined || program === '' || program.startsWith('-')) {
    throw new UsageError(`srun needs a program to run, received ${JSON.stringify(req.command)}`, {
      hint: 'pass the command as [program, ...args]; it must not start with "-"',
    });
  }
  if (req.hetGroup !== undefined && !(Number.isInteger(req.hetGroup) && req.hetGroup >= 0)) {
    throw new UsageError(`hetGroup must be an integer >= 0, received ${req.hetGroup}`, {
      hint: 'pass the het component index (0 for the first)',
    });
  }
  const argv = [
    'srun',
    ...(req.hetGroup !== undefined ? [`--het-group=${req.hetGroup}`] : []),
    `--nodes=${req.nodes}`,
    `--ntasks=${req.nodes * req.ntasksPerNode}`,
    `--ntasks-per-node=${req.ntasksPerNode}`,
    `--nodelist=${req.nodelist}`,
  ];
  if (req.overlap) argv.push('--overlap');
  if (req.exact) argv.push('--exact');
  if (req.gpusPerNode !== undefined && req.gpusPerNode > 0) argv.push(`--gpus-per-node=${req.gpusPerNode}`);
  if (req.cpusPerTask !== undefined) argv.push(`--cpus-per-task=${req.cpusPerTask}`);
  if (req.jobName !== undefined) argv.push(`--job-name=${req.jobName}`);
  if (req.output !== undefined) argv.push(`--output=${req.output}`);
  argv.push(...(req.extra ?? []), ...req.command);
  return argv;
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new UsageError(`${name} must be an integer >= 1, received ${v}`, {
      hint: `pass a positive whole number for ${name}`,
    });
  }
}
