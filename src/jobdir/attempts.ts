/**
 * Attempts of a requeued job. Slurm reruns the same batch script under the same job id with
 * SLURM_RESTART_COUNT=k; before attempt k writes anything, the files of the attempt before it move
 * into attempt-<k-1>/ (a rename in one directory), and its outcome joins the new status.json's
 * `attempts`. So `raysl status` and `raysl logs` read the current attempt as always, and each
 * earlier one stays whole in its own directory.
 */
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseStatus, type AttemptSummary, type JobStatus } from '../core/status.js';
import type { JobPaths } from '../core/jobdir.js';
import { makeJobDir } from './modes.js';

/** SLURM_RESTART_COUNT as a number (Slurm sets it only from the first requeue on). */
export function restartCountOf(env: NodeJS.ProcessEnv): number {
  const n = Number(env.SLURM_RESTART_COUNT ?? '0');
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

// what one attempt writes at the top of the job dir (plan.json and the token stay: the same plan, a new token)
const ATTEMPT_FILE =
  /^(status\.json|controller\.log|entrypoint\.log|tasks\.log|nodes\.json|ports\.json|agent-.+\.log)$/;

function attemptDir(paths: JobPaths, attempt: number): string {
  return join(paths.dir, `attempt-${attempt}`);
}

/** Moves the previous attempt's files aside; returns the summaries of every earlier attempt. */
export function archiveEarlierAttempt(paths: JobPaths, attempt: number): AttemptSummary[] {
  if (attempt === 0 || !existsSync(paths.status)) return [];
  let previous: JobStatus | undefined;
  try {
    previous = parseStatus(readFileSync(paths.status, 'utf8'));
  } catch {
    previous = undefined;
  }
  const k = previous?.attempt ?? attempt - 1;
  const dir = attemptDir(paths, k);
  makeJobDir(dir);
  for (const name of readdirSync(paths.dir))
    if (ATTEMPT_FILE.test(name)) renameSync(join(paths.dir, name), join(dir, name));
  if (!previous) return [];
  return [...(previous.attempts ?? []), summaryOf(previous, k, dir)];
}

function summaryOf(s: JobStatus, attempt: number, dir: string): AttemptSummary {
  const why = [...s.timeline]
    .reverse()
    .find((e) => e.phase === 'preempt-warning' || e.phase === 'error' || e.phase === 'node-lost');
  return {
    attempt,
    // a controller killed mid-run never wrote a final state: say what it was doing
    state: s.state,
    ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
    startedAt: s.startedAt,
    endedAt: s.updatedAt,
    ...(why?.detail ? { reason: why.detail } : {}),
    dir,
  };
}
