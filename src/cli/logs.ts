import { existsSync } from 'node:fs';
/**
 * `raysl logs <jobid>`: the entrypoint's output by default, one node's agent log with --node, the
 * controller's with --controller. --follow keeps printing until the job is over (fs.watch + a
 * backoff poll, so it works on NFS too).
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { Register } from './app.js';
import { jobIdOrLatest, jobOver, jobRoot, locateJob, lookJob, readStatus } from './jobs.js';
import { readFrom, tailFile } from './tail.js';

export const registerLogs: Register = (program, app) => {
  program
    .command('logs')
    .description("print a job's logs: the entrypoint's output (default), an agent's, or the controller's")
    .argument('[jobid]', 'Slurm job id or local-<time>-<pid> (default: the newest job in the job dir)')
    .option('--node <name>', "that node's agent log (agent-<node>.log)")
    .option('--controller', "the controller's log")
    .option('-f, --follow', 'keep printing as the log grows, until the job is over')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl logs 1234                   # entrypoint output so far
  $ raysl logs 1234 --follow          # and everything after, until the job ends
  $ raysl logs 1234 --node node3      # node3's agent (and its runtime)
  $ raysl logs 1234 --controller      # joins, teardown, errors`,
    )
    .action(async (id: string | undefined, opts: { node?: string; controller?: boolean; follow?: boolean; jobDir?: string }, _c: Command) => {
      const io = app.io;
      if (opts.node !== undefined && opts.controller) {
        throw new UsageError('--node and --controller name different logs: received both', { hint: 'pick one; without either you get the entrypoint output' });
      }
      const root = await jobRoot(opts.jobDir, io);
      const job = await locateJob(jobIdOrLatest(id, root), root, io);
      if (!existsSync(job.paths.dir)) {
        throw new UsageError(`no job directory for job ${job.jobId}: looked in ${job.paths.dir} and where Slurm ran its script`, {
          hint: 'pass --job-dir with the directory the job was submitted with, or list jobs with `raysl ls --all`',
        });
      }
      const file = opts.controller ? job.paths.controllerLog : opts.node !== undefined ? job.paths.agentLog(opts.node) : job.paths.entrypointLog;
      const write = (b: Buffer) => void io.stdout.write(b);
      if (!opts.follow) {
        const status = readStatus(job.paths);
        if (opts.node !== undefined && status && !status.nodes.some((n) => n.name === opts.node)) {
          throw new UsageError(`job ${job.jobId} has no node ${opts.node}`, { hint: `its nodes: ${status.nodes.map((n) => n.name).join(', ')}` });
        }
        await readFrom(file, 0, write);
        return;
      }
      const tail = tailFile(file, write);
      // over when the controller says so, or when the facts do (a controller that died says nothing)
      let interval = 100;
      for (;;) {
        if (jobOver(await lookJob(job, io))) break;
        await new Promise((r) => setTimeout(r, interval));
        interval = Math.min(interval * 2, 1000);
      }
      await tail.stop();
    });
};
