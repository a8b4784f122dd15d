/**
 * `raysl status [jobid]`: the controller's record (status.json) next to Slurm's view of the job.
 * Without a job id: the most recent job in the job dir.
 */
import type { Command } from 'commander';
import { globalsOf, type Register } from '../app.js';
import { writeJson } from '../io.js';
import { jobIdOrLatest, jobRoot, locateJob, lookJob } from '../jobs.js';
import { formatStatus, statusView } from '../status-view.js';

export const registerStatus: Register = (program, app) => {
  program
    .command('status')
    .description("a job's state: phases, nodes, exit code (status.json) and Slurm's state")
    .argument('[jobid]', 'Slurm job id or local-<time>-<pid> (default: the newest job in the job dir)')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl status                 # the newest job in ./raysl-jobs
  $ raysl status 1234
  $ raysl status local-1764495230000-4242   # a job of \`raysl run --local\`
  $ raysl status 1234 --json | jq .status.timeline`,
    )
    .action(async (id: string | undefined, opts: { jobDir?: string }, command: Command) => {
      const io = app.io;
      const root = await jobRoot(opts.jobDir, io);
      const job = await locateJob(jobIdOrLatest(id, root, io), root, io);
      // a job with a directory is still worth showing when Slurm cannot be asked (said in the view)
      const { status, slurm, shown, local, slurmUnreachable } = await lookJob(job, io, { withoutSlurm: true });
      const view = statusView(
        job.jobId,
        job.paths.dir,
        status,
        slurm && { state: slurm.state, reason: slurm.reason, nodelist: slurm.nodelist },
        shown,
        local,
      );
      if (slurmUnreachable !== undefined) view.slurmUnreachable = slurmUnreachable;
      if (globalsOf(command).json) return writeJson(io, view);
      io.stdout.write(formatStatus(view));
    });
};
