/**
 * `raysl down <jobid>`: ends a cluster from `raysl up` the way `raysl cancel` ends any job (TERM to
 * the controller, which stops every exec'd command and tears the nodes down in order; scancel after
 * the grace), and waits for the final state. On a job with its own entrypoint it is a cancel, and
 * says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { Plan } from '../../core/types.js';
import { globalsOf, type Register } from '../app.js';
import { cancelJob, stopCommand, type CancelOptions } from './cancel.js';
import { writeJson } from '../io.js';
import { jobRoot, locateJob } from '../jobs.js';

/** An `up` cluster (plan without entrypoint), a job with one, or not known yet (no plan.json: pending). */
function kindOf(planPath: string): 'cluster' | 'job' | 'unknown' {
  if (!existsSync(planPath)) return 'unknown';
  try {
    return (JSON.parse(readFileSync(planPath, 'utf8')) as Plan).entrypoint === null ? 'cluster' : 'job';
  } catch {
    return 'unknown';
  }
}

export const registerDown: Register = (program, app) => {
  const help = `
Examples:
  $ raysl down 1234
  $ raysl down 1234 --json          # {"jobId":"1234","how":"graceful","state":"succeeded","exitCode":0,...}
  $ raysl down local-1764500000000-4242

Exit code 0 once the cluster is down; 2 for an unknown job or one that is already over.`;
  stopCommand(
    program,
    'down',
    'stop a cluster started by raysl up (orderly, as cancel) and wait for its final state',
    help,
  ).action(async (id: string, opts: CancelOptions, command: Command) => {
    const io = app.io;
    const job = await locateJob(id, await jobRoot(opts.jobDir, io), io);
    const kind = kindOf(job.paths.plan);
    if (kind === 'job')
      io.stderr.write(
        `job ${job.jobId} runs its own entrypoint (not raysl up): down cancels it, as raysl cancel does\n`,
      );
    const { result, said } = await cancelJob(id, opts, io);
    if (result.how === 'already-over') {
      throw new UsageError(`job ${result.jobId} is already over (${result.state}): nothing to stop`, {
        hint: `what happened: raysl status ${result.jobId}; a new cluster: raysl up -N <nodes>`,
      });
    }
    if (globalsOf(command).json) return writeJson(io, { ...result, kind });
    io.stdout.write(said + '\n');
  });
};
