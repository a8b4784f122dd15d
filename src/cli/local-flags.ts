/**
 * Job options under `run --local` / `up --local`: each one means what it means on Slurm, or is
 * refused. The local launcher has no scheduler: options that only ask Slurm for something (a
 * partition, an account, a log path for sbatch) have nothing to act on here. Given as a flag they
 * are refused (the user asked for something that would not happen); from a config profile, which
 * is shared with `raysl submit`, they are named in a warning and left out.
 */
import { UsageError } from '../core/errors.js';
import { attributeOf, flagName, type JobOptionKey } from '../core/job-options.js';
import type { JobSpec } from '../core/types.js';

/** Options with no meaning without Slurm, and why (the rest are honoured locally, see docs/local.md). */
export const SLURM_ONLY: Partial<Record<JobOptionKey, string>> = {
  partition: 'a Slurm partition',
  account: 'a Slurm account to charge',
  qos: 'a Slurm quality of service',
  reservation: 'a Slurm reservation',
  constraint: 'node features Slurm matches',
  exclusive: 'whole nodes from Slurm',
  output: "the path of sbatch's batch log",
  sbatchArgs: 'extra sbatch arguments',
  requeue: 'a requeue by Slurm (scontrol requeue)',
  maxRestarts: 'a requeue by Slurm (scontrol requeue)',
  maxNodes: 'satellite Slurm jobs that grow the cluster',
  idleTimeout: 'satellite Slurm jobs that grow the cluster',
  scaleUpDelay: 'satellite Slurm jobs that grow the cluster',
};

function given(spec: JobSpec, key: JobOptionKey): boolean {
  const v = (spec as unknown as Record<string, unknown>)[key];
  return v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0);
}

/**
 * Refuses Slurm-only options given as flags; returns warnings for those a config profile set, and
 * the spec without them.
 */
export function localSpec(
  spec: JobSpec,
  opts: Record<string, unknown>,
  command: 'run' | 'up',
): { spec: JobSpec; warnings: string[] } {
  const keys = (Object.keys(SLURM_ONLY) as JobOptionKey[]).filter((k) => given(spec, k));
  // given on the command line (commander sets only what was typed; the values are parsed already)
  const refused = keys.filter((k) => opts[attributeOf(k)] !== undefined && opts[attributeOf(k)] !== false);
  if (refused.length > 0) {
    const list = refused.map((k) => `${flagName(k)} (${SLURM_ONLY[k]})`).join(', ');
    throw new UsageError(`${command} --local has no Slurm to ask: ${list}`, {
      hint: `drop ${refused.map((k) => flagName(k)).join(' ')} here, or run the job on the cluster with raysl ${command === 'run' ? 'submit' : 'up'}`,
    });
  }
  const out: Record<string, unknown> = { ...spec };
  for (const k of keys) out[k] = k === 'sbatchArgs' ? [] : undefined;
  const warnings = keys.map((k) => `the config profile's ${k} is ignored under --local (${SLURM_ONLY[k]})`);
  return {
    spec: Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as unknown as JobSpec,
    warnings,
  };
}
