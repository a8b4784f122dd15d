/**
 * `raysl up`: a cluster with no entrypoint. Submitted as any job (every job flag of submit); once
 * formed, its controller holds it for `raysl exec` until `raysl down`, a signal or the time limit.
 * `--local` runs it on simulated nodes with this process as the controller (Ctrl-C or `raysl
 * down` ends it; up-local.ts). Prints the job id on stdout and the next commands on stderr.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { jobPaths } from '../../core/jobdir.js';
import { sbatchArgvFor } from '../../render/sbatch.js';
import { commandLine } from '../../slurm/exec.js';
import { globalsOf, type Register } from '../app.js';
import { painter, writeJson, writeWarnings } from '../io.js';
import { addJobOptions } from '../job-options.js';
import { assertNotAFile } from '../job-dir-check.js';
import { waitUntilHolding } from '../live-job.js';
import { prepareJob } from '../prepare-job.js';
import { LOCAL_DEFAULTS } from './run.js';
import { upLocal } from './up-local.js';
import { nextCommands, sayNext } from '../up-next.js';
import { scriptName, submitScript } from './submit.js';

export const registerUp: Register = (program, app) => {
  const cmd = program
    .command('up')
    .description('start a cluster with no entrypoint: it holds for raysl exec until raysl down or its time limit')
    .option('--dry-run', 'print the sbatch command and the script (with --local: the plan); start nothing')
    .option(
      '--wait',
      'return once the cluster is formed and holds for exec, progress on stderr (exit 4 if it never does); the default on Slurm; with --local, given explicitly, the controller runs on in the background',
    )
    .option(
      '--no-wait',
      'return once Slurm accepted the job, as sbatch does (raysl exec then waits for the cluster itself)',
    )
    .option(
      '--local',
      'run it on this machine (simulated nodes, no Slurm); this process is the controller until raysl down or Ctrl-C',
    )
    .option('--cpus-per-node <n>', `with --local: simulated CPUs per node (default ${LOCAL_DEFAULTS.cpusPerNode})`)
    .option(
      '--mem-per-node <mb>',
      `with --local: simulated memory per node in MB (default ${LOCAL_DEFAULTS.memoryMb})`,
    );
  addJobOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ raysl up -N 4 --gpus-per-node 8 -p gpu -t 8:00:00     # waits until it holds, prints the job id
  $ raysl up -N 2 --runtime ray --no-wait                 # Ray cluster; returns at submission (exec waits)
  $ raysl exec 1234 -- python3 job.py --epochs 1          # as often as you like; exits with its code
  $ eval "$(raysl attach 1234)"                           # RAYSL_ADDRESS, RAY_ADDRESS, token file
  $ raysl down 1234
  $ raysl up --local -N 2 &                               # the same on this machine

Runtime: builtin unless --runtime ray (there is no entrypoint for auto to look at).
The cluster ends with raysl down (exit 0), a signal, or --time; a lost node ends it (exit 5).`,
    )
    .action(async (opts: Record<string, unknown>, command: Command) => {
      if (opts.local) return upLocal(opts, app, command);
      const io = app.io;
      const globals = globalsOf(command);
      const { plan, script } = await prepareJob(null, [], opts, io);
      writeWarnings(globals, io, plan.warnings);
      const scriptPath = join(plan.jobDir, scriptName(io.now(), process.pid));
      if (opts.dryRun) {
        assertNotAFile(plan.jobDir);
        if (globals.json) return writeJson(io, { argv: sbatchArgvFor(plan, scriptPath), script, plan });
        io.stdout.write(`# ${commandLine(sbatchArgvFor(plan, scriptPath))}\n${script}`);
        return;
      }
      const { job, result } = await submitScript(plan, script, scriptPath, io, painter(globals, io));
      // waiting is the default (as SkyPilot's `sky launch`): a cluster is asked for to be used, and
      // exec waits the same way; --no-wait is sbatch's way, for scripts that submit many
      if (opts.wait === false) {
        if (globals.json) return writeJson(io, { ...result, next: nextCommands(job.jobId) });
        io.stdout.write(`${job.jobId}\n`);
        sayNext(io, job.jobId, job.paths.dir, 'submitted cluster');
        return;
      }
      io.stderr.write(`submitted cluster ${job.jobId}; waiting for it to form\n`);
      const waited = await waitUntilHolding({ ...job, paths: jobPaths(plan.jobDir, job.jobId) }, io, (line) =>
        io.stderr.write(`raysl: ${line}\n`),
      );
      const state = waited.holding ? 'holding' : waited.state;
      if (globals.json) writeJson(io, { ...result, holding: waited.holding, state, next: nextCommands(job.jobId) });
      else if (waited.holding) io.stdout.write(`${job.jobId}\n`);
      if (!waited.holding) {
        io.stderr.write(`raysl: cluster ${job.jobId} ${waited.why}: raysl status ${job.jobId}\n`);
        app.setExitCode(4);
        return;
      }
      if (!globals.json) sayNext(io, job.jobId, job.paths.dir, 'cluster ready:');
    });
};
