/**
 * scancel: cancel or signal a job. Which processes a signal reaches (Slurm 22.05, measured):
 *   plain `scancel -s SIG id`  -> the job's steps only, NOT the batch shell;
 *   `--batch` (-b)             -> the batch shell only (the raysl controller), within ~0.2 s;
 *   `--full` (-f)              -> batch shell and every step.
 * Without a signal the job is cancelled (TERM, then KILL after KillWait).
 */
import { UsageError } from '../core/errors.js';
import { runSlurm, type SlurmRunOptions } from './exec.js';
import { assertJobId } from './scontrol.js';

export interface CancelRequest {
  jobId: string;
  /** Name (TERM, SIGUSR1) or number; omitted = cancel the job. */
  signal?: string;
  batchOnly?: boolean;
  full?: boolean;
}

export function cancelArgv(req: CancelRequest): string[] {
  assertJobId(req.jobId);
  if (req.batchOnly && req.full) {
    throw new UsageError('--batch and --full cannot be combined: received both', {
      hint: 'use batchOnly to signal only the batch shell, or full for batch shell and steps',
    });
  }
  const argv = ['scancel'];
  if (req.signal !== undefined) {
    if (!/^(SIG)?[A-Z][A-Z0-9]*$|^\d+$/.test(req.signal)) {
      throw new UsageError(
        `expected a signal name or number such as TERM or 10, received ${JSON.stringify(req.signal)}`,
        {
          hint: 'use an upper-case signal name (TERM, INT, USR1) or its number',
        },
      );
    }
    argv.push(`--signal=${req.signal}`);
  }
  if (req.batchOnly) argv.push('--batch');
  if (req.full) argv.push('--full');
  argv.push(req.jobId);
  return argv;
}

export async function cancel(req: CancelRequest, opts: SlurmRunOptions = {}): Promise<void> {
  await runSlurm(cancelArgv(req), opts);
}
