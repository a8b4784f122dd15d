/**
 * A running job's cluster as the login node reaches it (attach, exec): its control server's
 * address (status.json), the job dir's token file, the plan it runs. Anything else (unknown, still
 * forming, over) is a usage error with a hint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ClusterFormError, InternalError, UsageError } from '../core/errors.js';
import { pollUntil } from '../proc/poll.js';
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

export async function liveJob(
  id: string,
  jobDirFlag: string | undefined,
  io: Io,
  opts: { waitForHold?: boolean } = {},
): Promise<LiveJob> {
  const root = await jobRoot(jobDirFlag, io);
  const job = await locateJob(id, root, io);
  if (opts.waitForHold) {
    const waited = await waitUntilHolding(job, io, (line) => io.stderr.write(`raysl: ${line}\n`));
    if (!waited.holding && !waited.ownEntrypoint) {
      throw new ClusterFormError(`job ${job.jobId} ${waited.why}`, {
        hint: `what happened: raysl status ${job.jobId}; its controller's log: raysl logs ${job.jobId} --controller`,
      });
    }
  }
  const look = await lookJob(job, io);
  const state = look.shown?.state ?? look.slurm?.state.toLowerCase() ?? 'unknown';
  if (jobOver(look)) {
    throw new UsageError(`job ${job.jobId} is over (${state}): there is no cluster to reach`, {
      hint: `start a new one with raysl up -N <nodes>; what happened: raysl status ${job.jobId}`,
    });
  }
  const status = look.status;
  const ready = status?.timeline.some((e) => e.phase === 'ready' || e.phase === 'holding');
  if (!status || !status.controller || !ready || !existsSync(job.paths.plan)) {
    throw new UsageError(`job ${job.jobId} is not running yet (${state}): its cluster has not formed`, {
      hint: `wait for it: raysl status ${job.jobId} (or raysl logs ${job.jobId} --follow)`,
    });
  }
  const plan = JSON.parse(readFileSync(job.paths.plan, 'utf8')) as Plan;
  return { job, status, plan, address: status.controller, tokenFile: job.paths.token, holds: plan.entrypoint === null };
}

export type HoldWait = { holding: true } | { holding: false; ownEntrypoint?: boolean; state: string; why: string };

/** Slack over --join-timeout: the controller itself gives up at the join deadline and says so first. */
const HOLD_SLACK_MS = 15_000;

/**
 * Waits (polling status.json and Slurm with backoff) until a cluster from `raysl up` holds for exec,
 * saying each change of state through `progress`. While Slurm keeps the job in its queue the wait
 * has no bound (Ctrl-C stops it); once the controller runs, --join-timeout (plus slack) bounds it.
 * A job that ends first, or runs its own entrypoint, answers at once.
 */
export async function waitUntilHolding(job: JobRef, io: Io, progress: (line: string) => void): Promise<HoldWait> {
  let said = '';
  let deadline: number | undefined;
  const step = async (): Promise<HoldWait | undefined> => {
    const look = await lookJob(job, io);
    const state = look.shown?.state ?? look.slurm?.state.toLowerCase() ?? 'pending';
    const timeline = look.status?.timeline ?? [];
    if (timeline.some((e) => e.phase === 'holding')) return { holding: true };
    if (timeline.some((e) => e.phase === 'entrypoint-started'))
      return { holding: false, ownEntrypoint: true, state, why: 'runs its own entrypoint' };
    if (jobOver(look)) {
      const error = look.status?.error?.message ?? look.shown?.reason;
      return { holding: false, state, why: `ended before its cluster held (${state})${error ? `: ${error}` : ''}` };
    }
    const now = io.now();
    if (look.status && deadline === undefined) deadline = now + joinTimeoutMs(job) + HOLD_SLACK_MS;
    if (deadline !== undefined && now >= deadline)
      return { holding: false, state, why: `did not hold within its --join-timeout (${state})` };
    const line = look.status
      ? `waiting for job ${job.jobId}'s cluster to form (${state}, ${joinedOf(look.status)} joined)`
      : `waiting for job ${job.jobId} to start (${state}${look.slurm?.reason && look.slurm.reason !== 'None' ? `: ${look.slurm.reason}` : ''})`;
    if (line !== said) progress((said = line));
    return undefined;
  };
  // unbounded while queued (the step itself returns the verdict at the join deadline once it runs)
  const waited = await pollUntil(step, { timeoutMs: Infinity, intervalMs: 100, maxIntervalMs: 1000, now: io.now });
  if (!waited.done)
    throw new InternalError('an unbounded wait without a signal ended', { hint: 'this is a bug in raysl' });
  return waited.value;
}

function joinedOf(s: JobStatus): string {
  return `${s.nodes.filter((n) => n.state === 'joined').length}/${s.nodes.length}`;
}

function joinTimeoutMs(job: JobRef): number {
  try {
    return (JSON.parse(readFileSync(job.paths.plan, 'utf8')) as Plan).joinTimeoutSec * 1000;
  } catch {
    return 120_000;
  }
}

/** The job's token, read from its 0600 file (never printed). */
export function readToken(live: LiveJob): string {
  try {
    return readFileSync(live.tokenFile, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `cannot read job ${live.job.jobId}'s token file ${live.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'run this as the user who started the job, on a machine that shares its job dir',
      },
    );
  }
}
