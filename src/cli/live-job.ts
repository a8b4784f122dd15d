/**
 * A running job's cluster as the login node reaches it (attach, exec): its control server's
 * address (status.json), the job dir's token file, the plan it runs. Anything else (unknown, still
 * forming, over) is a usage error with a hint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import type { JobStatus } from '../core/status.js';
import type { Plan } from '../core/types.js';
import type { Io } from './io.js';
import { jobOver, jobRoot, locateJob, lookJob, type JobRef } from './jobs.js';

export interface LiveJob {
  job: JobRef;
  status: JobStatus;
  plan: Plan;
  /** host:port of the control server. */
  address: string;
  tokenFile: string;
  /** A cluster from `raysl up` that holds for exec (else a job running its own entrypoint). */
  holds: boolean;
}

export async function liveJob(id: string, jobDirFlag: string | undefined, io: Io): Promise<LiveJob> {
  const root = await jobRoot(jobDirFlag, io);
  const job = await locateJob(id, root, io);
  const look = await lookJob(job, io);
  const state = look.shown?.state ?? look.slurm?.state.toLowerCase() ?? 'unknown';
  if (jobOver(look)) {
    throw new UsageError(`job ${job.jobId} is over (${state}): there is no cluster to reach`, { hint: `start a new one with raysl up -N <nodes>; what happened: raysl status ${job.jobId}` });
  }
  const status = look.status;
  const ready = status?.timeline.some((e) => e.phase === 'ready' || e.phase === 'holding');
  if (!status || !status.controller || !ready || !existsSync(job.paths.plan)) {
    throw new UsageError(`job ${job.jobId} is not running yet (${state}): its cluster has not formed`, { hint: `wait for it: raysl status ${job.jobId} (or raysl logs ${job.jobId} --follow)` });
  }
  const plan = JSON.parse(readFileSync(job.paths.plan, 'utf8')) as Plan;
  return { job, status, plan, address: status.controller, tokenFile: job.paths.token, holds: plan.entrypoint === null };
}

/** The job's token, read from its 0600 file (never printed). */
export function readToken(live: LiveJob): string {
  try {
    return readFileSync(live.tokenFile, 'utf8').trim();
  } catch (err) {
    throw new UsageError(`cannot read job ${live.job.jobId}'s token file ${live.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'run this as the user who started the job, on a machine that shares its job dir',
    });
  }
}
