/**
 * `raysl ls`: this user's raysl jobs. Live Slurm jobs come from squeue (a port record in the
 * Comment, or a directory in the job dir); live local jobs (`raysl run --local`) from the job dir;
 * --all adds finished and lost jobs found only in the job dir. When Slurm cannot be asked, the job
 * dir alone answers (and ls says so).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SlurmError } from '../../core/errors.js';
import { isLocalJobId, jobPaths } from '../../core/jobdir.js';
import { listJobs, type SlurmJob } from '../../slurm/squeue.js';
import { globalsOf, type Register } from '../app.js';
import { writeJson, type Io } from '../io.js';
import { controllerFacts, currentUser, jobRoot, listJobDirs, readStatus, slurmOpts } from '../jobs.js';
import { lsRows, noJobsLine, type JobDirFacts } from '../ls-view.js';
import { formatLs } from '../status-view.js';

/** squeue's view of this user's jobs, or undefined (after saying so) when Slurm cannot be asked. */
async function queueOrNothing(io: Io): Promise<SlurmJob[] | undefined> {
  try {
    return await listJobs({ user: currentUser(io) }, slurmOpts(io));
  } catch (err) {
    if (!(err instanceof SlurmError)) throw err;
    io.stderr.write(`Slurm not reachable: showing the job dir only (${err.message.split('\n')[0]})\n`);
    return undefined;
  }
}

export const registerLs: Register = (program, app) => {
  program
    .command('ls')
    .description('list your raysl jobs: id, name, state, nodes, port block, age')
    .option('-a, --all', 'also finished and lost jobs found in the job dir')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl ls
  $ raysl ls --all --job-dir ~/raysl-jobs
  $ raysl ls --json | jq -r '.[] | select(.state=="running") | .id'`,
    )
    .action(async (opts: { all?: boolean; jobDir?: string }, command: Command) => {
      const io = app.io;
      const root = await jobRoot(opts.jobDir, io);
      const queue = await queueOrNothing(io);
      const rows = lsRows({
        now: io.now(),
        all: opts.all === true,
        queue,
        dirs: jobDirFacts(root, new Set((queue ?? []).map((j) => j.id))),
      });
      if (globalsOf(command).json) return writeJson(io, rows);
      if (rows.length === 0) {
        io.stderr.write(`${noJobsLine(opts.all === true, queue !== undefined, root)}\n`);
        return;
      }
      io.stdout.write(formatLs(rows));
    });
};

/** Every job directory's status.json; for a job squeue does not list, also its name and (local) its controller's liveness. */
function jobDirFacts(root: string, listed: ReadonlySet<string>): JobDirFacts[] {
  return listJobDirs(root).map((id) => {
    const paths = jobPaths(root, id);
    const status = readStatus(paths);
    if (listed.has(id)) return { id, status };
    return {
      id,
      status,
      name: planName(paths.plan),
      ...(status && isLocalJobId(id) ? { controller: controllerFacts(status) } : {}),
    };
  });
}

/** The job name from plan.json ('-' when it is missing or unreadable). */
function planName(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { jobName?: string }).jobName ?? '-';
  } catch {
    return '-';
  }
}
