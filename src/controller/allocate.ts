/**
 * Allocate: what Slurm (or `raysl run --local`) gave the job, read before anything starts (its id,
 * its nodes with the head first, where its files go), then the address each node's agent binds
 * and the job's first status.json.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterFormError, UsageError } from '../core/errors.js';
import { jobPaths, type JobPaths } from '../core/jobdir.js';
import { hetGroupsFromEnv } from '../core/het-env.js';
import { compressHostlist, expandHostlist } from '../core/nodelist.js';
import { initialStatus } from '../core/status.js';
import { selfIdentity } from '../proc/identity.js';
import type { Plan, PortBlock } from '../core/types.js';
import type { AgentSlot } from './agents.js';
import type { Launcher } from './launcher.js';
import { StatusFile } from '../jobdir/status-file.js';

export interface Allocation {
  jobId: string;
  nodelist: string;
  /** Head first. */
  nodes: string[];
  head: string;
  paths: JobPaths;
  /** Node-local scratch of every agent: <TMPDIR>/raysl-<job>/<node>. */
  scratchRoot: string;
}

/** Throws before anything starts (no job dir, no log) when the environment cannot hold the plan. */
export function readAllocation(plan: Plan, env: NodeJS.ProcessEnv): Allocation {
  const jobId = env.SLURM_JOB_ID;
  const nodelist = env.SLURM_JOB_NODELIST;
  if (!jobId || !nodelist) {
    throw new UsageError('the controller needs SLURM_JOB_ID and SLURM_JOB_NODELIST', {
      hint: 'the controller runs inside an sbatch job (raysl submit) or under `raysl run --local`',
    });
  }
  const nodes = plan.hetjob ? (hetNodes(env) ?? expandHostlist(nodelist)) : expandHostlist(nodelist);
  if (nodes.length < plan.minNodes) {
    throw new ClusterFormError(
      `the allocation has ${nodes.length} node(s) (${nodelist}) but the plan needs at least ${plan.minNodes}`,
      {
        hint: 'submit with -N matching --min-nodes',
      },
    );
  }
  return {
    jobId,
    nodelist: plan.hetjob ? compressHostlist(nodes) : nodelist,
    nodes,
    head: nodes[0] as string,
    paths: jobPaths(plan.jobDir, jobId),
    scratchRoot: join(env.TMPDIR || tmpdir(), `raysl-${jobId}`),
  };
}

/**
 * --head-cpus-only: SLURM_JOB_NODELIST holds component 0 (the head) only; every node is in the
 * components' lists, the head's first. undefined outside a het job (`run --local` simulates one).
 */
function hetNodes(env: NodeJS.ProcessEnv): string[] | undefined {
  const het = hetGroupsFromEnv(env);
  if (het === undefined) return undefined;
  const [head, workers, ...more] = het.groups;
  if (head?.length !== 1 || workers === undefined || more.length > 0) {
    throw new ClusterFormError(
      `the plan runs the head alone in het component 0 and the workers in component 1, but Slurm gave ${het.groups.length} component(s) of ${het.groups.map((g) => g.length).join(', ')} node(s)`,
      {
        hint: 'submit the script raysl rendered as it is (its #SBATCH hetjob line separates the two components)',
      },
    );
  }
  return [...head, ...workers];
}

export interface Placement {
  headAddress: string;
  slots: AgentSlot[];
  status: StatusFile;
  /** Other jobs' port blocks on these nodes: asked for alongside the addresses (each is a Slurm call), awaited by form. */
  taken: Promise<PortBlock[]>;
}

/** Each node's address (the launcher knows how to find it) and the status.json that names them. */
export async function placeAgents(
  plan: Plan,
  alloc: Allocation,
  launcher: Launcher,
  startedAtMs: number,
): Promise<Placement> {
  const { jobId, nodes, head, paths } = alloc;
  const taken = launcher.takenBlocks(jobId, nodes);
  // a failure is form's to report (once status.json exists); until then nothing may go unhandled
  taken.catch(() => {});
  const addresses = await launcher.resolveAddresses(nodes);
  const slots: AgentSlot[] = nodes.map((n) => ({
    name: n,
    role: n === head ? 'head' : 'worker',
    address: addresses[n] as string,
    log: paths.agentLog(n),
  }));
  const status = new StatusFile(
    paths.status,
    initialStatus({
      jobId,
      runtime: plan.runtime,
      launcher: launcher.name,
      nodes: slots.map((s) => ({ name: s.name, address: s.address, role: s.role, log: s.log })),
      minNodes: plan.minNodes,
      startedAtMs,
      ...controllerIdentity(),
    }),
  );
  return { headAddress: addresses[head] as string, slots, status, taken };
}

/** Pid, host and start time of this controller, so readers can tell when it is gone. */
function controllerIdentity(): { controllerPid: number; controllerHost: string; controllerStartTicks?: number } {
  const me = selfIdentity();
  return {
    controllerPid: me.pid,
    controllerHost: me.host,
    ...(me.startTicks !== undefined ? { controllerStartTicks: me.startTicks } : {}),
  };
}
