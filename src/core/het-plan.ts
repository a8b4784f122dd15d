/**
 * --head-cpus-only: the head runs in a heterogeneous job component of its own (component 0: one
 * node, the job's CPUs, no GPUs), the -N GPU nodes in component 1 run only workers. Pure: the
 * refusals with their numbers, and each component's #SBATCH lines.
 *
 * Which options go where (Slurm's heterogeneous_jobs.html: --account, --job-name, --output and a
 * few more propagate from one component to the next; node counts, CPUs, GPUs and memory do not):
 * component 0 carries the job-wide lines (name, output, --signal, --requeue for the batch step), both carry
 * their own shape, and --constraint and --exclusive stay with the GPU nodes they are about.
 */
import { UsageError } from './errors.js';
import type { ClusterFacts, HetComponent, JobSpec, NodeFacts, NodeResources } from './types.js';

type Line = [string, string];

const where = (facts: ClusterFacts) => (facts.partition ? `partition ${facts.partition}` : 'the cluster');

/** Refusals that need no cluster facts: a CPU-only head only makes sense next to GPU workers. */
export function checkHetSpec(spec: JobSpec): void {
  if ((spec.gpusPerNode ?? 0) === 0) {
    throw new UsageError('--head-cpus-only keeps the head off the GPU nodes, but the job asks for no GPUs', {
      hint: 'add --gpus-per-node <n> (-N counts the GPU worker nodes), or drop --head-cpus-only',
    });
  }
}

/**
 * Refusals and warnings against the partition: -N nodes that fit a worker (GPUs, CPUs, memory,
 * features) and one more node that fits the head (CPUs, memory). Worker-fit nodes fit the head too,
 * so N worker-fit nodes and N + 1 head-fit nodes are enough.
 */
export function checkHetFacts(spec: JobSpec, facts: ClusterFacts, head: NodeResources): string[] {
  const fitsHead = (n: NodeFacts) =>
    n.cpus >= head.cpus && (head.memoryMb === undefined || n.memoryMb >= head.memoryMb);
  const headFit = facts.nodes.filter(fitsHead);
  if (headFit.length < spec.nodes + 1) {
    throw new UsageError(
      `--head-cpus-only -N ${spec.nodes}: the job needs ${spec.nodes + 1} nodes (${spec.nodes} GPU workers and the head's own), ${where(facts)} has ${headFit.length} with ${head.cpus} CPUs`,
      {
        hint:
          spec.nodes > 1
            ? `use -N ${Math.max(1, headFit.length - 1)} or less, or drop --head-cpus-only to run the head on a GPU node`
            : 'drop --head-cpus-only (the head then runs on the GPU node), or pick a partition with more nodes (-p)',
        details: { workers: spec.nodes, nodesNeeded: spec.nodes + 1, nodesThatFit: headFit.length },
      },
    );
  }
  const warnings: string[] = [];
  if (!headFit.some((n) => n.gpus === 0)) {
    warnings.push(
      `--head-cpus-only: ${where(facts)} has no node without GPUs, so the head takes a GPU node of its own and leaves its GPUs to other jobs`,
    );
  }
  return warnings;
}

export interface HetShape {
  spec: JobSpec;
  head: NodeResources;
  worker: NodeResources;
  output: string;
  jobName: string;
  /** Lines about the whole job and its batch step (--signal, --requeue, --open-mode): component 0 carries them. */
  jobWide: Array<[string, string]>;
}

/** Both components, each with its #SBATCH lines in order. */
export function hetComponents(s: HetShape): [HetComponent, HetComponent] {
  const { spec } = s;
  const shared = (): Line[] => {
    const lines: Line[] = [];
    if (spec.mem !== undefined) lines.push(['--mem', spec.mem]);
    if (spec.partition !== undefined) lines.push(['--partition', spec.partition]);
    if (spec.time !== undefined) lines.push(['--time', spec.time]);
    if (spec.account !== undefined) lines.push(['--account', spec.account]);
    if (spec.qos !== undefined) lines.push(['--qos', spec.qos]);
    if (spec.reservation !== undefined) lines.push(['--reservation', spec.reservation]);
    return lines;
  };
  const head: Line[] = [
    ['--job-name', s.jobName],
    ['--nodes', '1'],
    ['--ntasks-per-node', '1'],
    ['--cpus-per-task', String(s.head.cpus)],
    ...shared(),
  ];
  head.push(...s.jobWide);
  head.push(['--output', s.output]);
  const workers: Line[] = [
    ['--nodes', String(spec.nodes)],
    ['--ntasks-per-node', '1'],
    ['--cpus-per-task', String(s.worker.cpus)],
    ['--gpus-per-node', String(s.worker.gpus)],
    ...shared(),
  ];
  if (spec.exclusive) workers.push(['--exclusive', '']);
  if (spec.constraint !== undefined) workers.push(['--constraint', spec.constraint]);
  return [
    { index: 0, role: 'head', nodes: 1, perNode: s.head, sbatch: head },
    { index: 1, role: 'worker', nodes: spec.nodes, perNode: s.worker, sbatch: workers },
  ];
}

/** What one node of this role gets: the head's own component under --head-cpus-only, else the plan's per-node shape. */
export function resourcesForRole(
  plan: { perNode: NodeResources; hetjob?: [HetComponent, HetComponent] },
  role: 'head' | 'worker',
): NodeResources {
  return plan.hetjob?.find((c) => c.role === role)?.perNode ?? plan.perNode;
}
