/**
 * What Slurm granted this task, read from its environment, and the check against the plan.
 * The runtime must never claim more than Slurm bound: fewer granted than planned is refused;
 * more granted than planned is trimmed to the plan (the extra stays unused, never claimed).
 */
import type { NodeResources } from '../core/types.js';
import type { Granted } from '../protocol/agent.js';

function positiveInt(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v.trim().split('(')[0]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function idList(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === '' || t === 'NoDevFiles') return [];
  return t
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

export function grantedFromEnv(env: NodeJS.ProcessEnv): Granted {
  const cpus = positiveInt(env.SLURM_CPUS_ON_NODE) ?? positiveInt(env.SLURM_CPUS_PER_TASK);
  // CUDA_VISIBLE_DEVICES is what the runtime's processes will see: it wins when set
  const ids = idList(env.CUDA_VISIBLE_DEVICES) ?? idList(env.SLURM_STEP_GPUS) ?? idList(env.SLURM_JOB_GPUS);
  const count = ids?.length ?? positiveInt(env.SLURM_GPUS_ON_NODE);
  return {
    ...(cpus !== undefined ? { cpus } : {}),
    ...(count !== undefined ? { gpus: count } : {}),
    gpuIds: ids ?? [],
  };
}

export interface GrantDecision {
  ok: boolean;
  /** What this node's runtime may claim. */
  resources: NodeResources;
  gpuIds: string[];
  problem?: string;
  hint?: string;
}

export function checkGrant(granted: Granted, expected: NodeResources, node: string): GrantDecision {
  const gpus = granted.gpus ?? 0;
  if (expected.gpus > 0 && gpus < expected.gpus) {
    return {
      ok: false,
      resources: expected,
      gpuIds: granted.gpuIds,
      problem: `${node}: the plan needs ${expected.gpus} GPU(s) per node but Slurm bound ${gpus} to this task (CUDA_VISIBLE_DEVICES=${granted.gpuIds.join(',') || 'unset'})`,
      hint: 'submit with --gpus-per-node matching the plan; raysl never claims GPUs Slurm did not bind',
    };
  }
  if (granted.cpus !== undefined && granted.cpus < expected.cpus) {
    return {
      ok: false,
      resources: expected,
      gpuIds: granted.gpuIds,
      problem: `${node}: the plan needs ${expected.cpus} CPU(s) per node but Slurm granted ${granted.cpus} (SLURM_CPUS_ON_NODE)`,
      hint: 'submit with --cpus-per-task matching the plan, or lower it',
    };
  }
  return { ok: true, resources: expected, gpuIds: granted.gpuIds.slice(0, expected.gpus) };
}
