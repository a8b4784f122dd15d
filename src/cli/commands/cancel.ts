/**
 * `raysl cancel <jobid>`: graceful first. The controller is the batch shell's process (the script
 * execs it), and only `scancel --batch --signal=TERM` reaches it at once (a plain `scancel -s` hits
 * the steps only). It then stops the entrypoint and the agents in order and writes its final state;
 * if that does not happen within the grace period, a plain scancel ends the job by force.
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { parseCount } from '../../core/option-values.js';
import { writeJsonAtomic } from '../../jobdir/write.js';
import type { JobStatus } from '../../core/status.js';
import { GONE_PACE } from '../../proc/group.js';
import { pollUntil, waitFor } from '../../proc/poll.js';
import { stillRunning } from '../../proc/identity.js';
import { cancel } from '../../slurm/scancel.js';
import { globalsOf, type Register } from '../app.js';
import { writeJson } from '../io.js';
import { jobOver, jobRoot, locateJob, lookJob, slurmOpts, type JobRef } from '../jobs.js';
import type { Io } from '../io.js';

const DEFAULT_CANCEL_GRACE_SEC = 20;

type How = 'already-over' | 'pending' | 'graceful' | 'forced';

/** Polls status.json and Slurm with backoff until the job is over or the deadline passes. */
async function waitOver(job: JobRef, io: Io, ms: number): Promise<JobStatus | undefined | 'timeout'> {
  const over = await pollUntil(
    async () => {
      const look = await lookJob(job, io);
      return jobOver(look) ? { status: look.status } : undefined;
    },
    { timeoutMs: ms, intervalMs: 50, maxIntervalMs: 500, now: io.now },
  );
  return over.done ? over.value.status : 'timeout';
}

/**
 * The user's request, kept in the job dir before the controller is signalled: should the grace run
 * out and the controller be forced, readers still show the job as cancelled (as asked), not lost.
 */
function recordCancelRequest(job: JobRef, io: Io, graceSec: number): void {
  try {
    writeJsonAtomic(job.paths.cancelRequest, { version: 1, at: new Date(io.now()).toISOString(), graceSec });
  } catch {
    // a job dir this user cannot write: the stop goes on, a forced end then reads lost
  }
}

/** A controller that ended on its own meanwhile is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The job id and the flags cancel and down share (both stop a job through cancelJob). */
export function stopCommand(program: Command, name: string, description: string, help: string): Command {
  return program
    .command(name)
    .description(description)
    .addHelpText('after', help)
    .argument('<jobid>', 'Slurm job id or local-<time>-<pid>')
    .option(
      '--grace <sec>',
      `seconds to wait for the orderly teardown before it is forced (scancel, or KILL for a local job; default ${DEFAULT_CANCEL_GRACE_SEC})`,
    )
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)');
}

export const registerCancel: Register = (program, app) => {
  const help =
    '\nExamples:\n  $ raysl cancel 1234\n  $ raysl cancel 1234 --grace 5       # force it after 5 s\n  $ raysl cancel 1234 --json';
  stopCommand(
    program,
    'cancel',
    'stop a job: the controller tears the cluster down in order, then Slurm ends the job',
    help,
  ).action(async (id: string, opts: CancelOptions, command: Command) => {
    const { result, said } = await cancelJob(id, opts, app.io);
    if (globalsOf(command).json) return writeJson(app.io, result);
    app.io.stdout.write(said + '\n');
  });
};

export interface CancelOptions {
  grace?: string;
  jobDir?: string;
}

export interface Cancelled {
  result: { jobId: string; how: How; state: string; exitCode?: number; seconds: number };
  /** One line saying what happened. */
  said: string;
}

/** The orderly stop of `raysl cancel` (and `raysl down`): what happened, as data and as a line. */
export async function cancelJob(id: string, opts: CancelOptions, io: Io): Promise<Cancelled> {
  const graceSec =
    opts.grace !== undefined
      ? parseCount(opts.grace, '--grace', 0, 86400, 'a day; the timer behind it overflows past 24 days')
      : DEFAULT_CANCEL_GRACE_SEC;
  const root = await jobRoot(opts.jobDir, io);
  const job = await locateJob(id, root, io);
  const t0 = io.now();
  // an unknown job (not in Slurm, no directory) is a usage error, thrown by lookJob
  const look = await lookJob(job, io);
  const slurm = look.slurm;
  let how: How;
  let status = look.status;
  let shownState = look.shown?.state;
  if (jobOver(look)) {
    how = 'already-over';
  } else if (look.local) {
    // the local controller is `raysl run --local` itself: TERM is its Ctrl-C (orderly teardown)
    const pid = status?.controllerPid;
    if (pid === undefined)
      throw new UsageError(`job ${job.jobId}: status.json names no controller process to stop`, {
        hint: 'stop it from the terminal that runs it (Ctrl-C)',
      });
    io.stderr.write(`job ${job.jobId}: asking the controller (pid ${pid}) to tear down (grace ${graceSec}s)\n`);
    recordCancelRequest(job, io, graceSec);
    signal(pid, 'SIGTERM');
    const over = await waitOver(job, io, graceSec * 1000);
    if (over === 'timeout') {
      io.stderr.write(`job ${job.jobId}: no orderly end after ${graceSec}s; killing the controller\n`);
      signal(pid, 'SIGKILL');
      // KILL is delivered, not done: read the job once the controller is really gone, or a reader
      // still sees it alive (tearing-down) instead of cancelled as asked
      await waitFor(
        () => stillRunning({ pid, host: status?.controllerHost, startTicks: status?.controllerStartTicks }) !== true,
        { timeoutMs: 5000, ...GONE_PACE, now: io.now },
      );
      how = 'forced';
    } else {
      how = 'graceful';
      status = over;
    }
  } else if (slurm?.state === 'PENDING') {
    // no controller yet: nothing to tear down
    await cancel({ jobId: job.jobId }, slurmOpts(io));
    how = 'pending';
  } else {
    io.stderr.write(`job ${job.jobId}: asking the controller to tear down (grace ${graceSec}s)\n`);
    recordCancelRequest(job, io, graceSec);
    await cancel({ jobId: job.jobId, signal: 'TERM', batchOnly: true }, slurmOpts(io));
    const over = await waitOver(job, io, graceSec * 1000);
    if (over === 'timeout') {
      io.stderr.write(`job ${job.jobId}: no orderly end after ${graceSec}s; cancelling through Slurm\n`);
      await cancel({ jobId: job.jobId }, slurmOpts(io));
      how = 'forced';
    } else {
      how = 'graceful';
      status = over;
    }
  }
  if (how !== 'already-over' && how !== 'pending') {
    const after = await lookJob(job, io);
    status = after.status ?? status;
    shownState = after.shown?.state;
  }
  const result: Cancelled['result'] = {
    jobId: job.jobId,
    how,
    state: shownState ?? status?.state ?? slurm?.state.toLowerCase() ?? 'unknown',
    ...(status?.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
    seconds: Number(((io.now() - t0) / 1000).toFixed(2)),
  };
  const said: Record<How, string> = {
    'already-over': `job ${job.jobId} is already over (${result.state})`,
    pending: `job ${job.jobId} cancelled in the queue`,
    graceful: `job ${job.jobId} stopped in ${result.seconds}s (${result.state}); every node torn down`,
    forced: look.local
      ? `job ${job.jobId}: controller killed after the ${graceSec}s grace (its agents tear the nodes down)`
      : `job ${job.jobId} cancelled by Slurm after the ${graceSec}s grace`,
  };
  return { result, said: said[how] };
}
