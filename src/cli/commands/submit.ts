/**
 * `raysl submit`: plan -> script (pure) -> the only place that writes it and calls sbatch (TorchX's
 * request/materialize/schedule split). The script lands in the job dir root as
 * raysl-<time>.sbatch, and a copy goes to <job dir>/<jobid>/job.sh next to the job's other files.
 * --dry-run prints the sbatch argv and the script; --follow watches the job to its end and exits
 * with its code.
 */
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { jobPaths } from '../../core/jobdir.js';
import { sbatchEnvConflicts, withoutConflicts } from '../../core/sbatch-env.js';
import { sbatchArgvFor } from '../../render/sbatch.js';
import { commandLine, runSlurm } from '../../slurm/exec.js';
import { parseSbatchParsable } from '../../slurm/sbatch.js';
import { globalsOf, type Register } from '../app.js';
import { followJob } from '../follow.js';
import { painter, writeJson, writeWarnings } from '../io.js';
import { addJobOptions } from '../job-options.js';
import { assertNotAFile, ensureJobDir } from '../job-dir-check.js';
import { prepareJob } from '../prepare-job.js';
import { slurmOpts, type JobRef } from '../jobs.js';
import type { Io } from '../io.js';
import type { Plan } from '../../core/types.js';
import type { ChalkInstance } from 'chalk';
import { progress } from '../spinner.js';
import { fileModeIn, makeJobDir } from '../../jobdir/modes.js';

/** raysl-20250102-030405-678.sbatch: sorts by time, unique enough for one user submitting by hand. */
/**
 * The batch script's file name in the job dir. The submitting process's pid is part of it: two
 * `raysl submit` into one job dir in the same millisecond (a sweep, a test) must not write one file
 * and both submit the last one written.
 */
export function scriptName(nowMs: number, pid: number): string {
  const iso = new Date(nowMs).toISOString(); // 2025-01-02T03:04:05.678Z
  return `raysl-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${iso.slice(20, 23)}-${pid}.sbatch`;
}

/** SIGINT/SIGTERM while following: stop following (the job is Slurm's now), not die silently. */
function onInterrupt(): { promise: Promise<NodeJS.Signals>; stop: () => void } {
  let fire: (sig: NodeJS.Signals) => void = () => {};
  const promise = new Promise<NodeJS.Signals>((resolve) => (fire = resolve));
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => [sig, () => fire(sig)] as const);
  for (const [sig, fn] of handlers) process.on(sig, fn);
  return { promise, stop: () => handlers.forEach(([sig, fn]) => process.off(sig, fn)) };
}

/** Writes the script into the job dir root and runs sbatch: the one place a job is submitted (submit, up). */
export async function submitScript(
  plan: Plan,
  script: string,
  scriptPath: string,
  io: Io,
  c: ChalkInstance,
): Promise<{ job: JobRef; result: { jobId: string; jobDir: string; script: string } }> {
  // the batch output (--output) goes here too, and Slurm will not create a missing directory
  ensureJobDir(plan.jobDir);
  // 'wx': never overwrite a script another submit wrote (sbatch reads it only once it runs)
  // private: the script carries the --env values (the root is often shared; a setgid root: its group)
  writeFileSync(scriptPath, script, { mode: fileModeIn(plan.jobDir), flag: 'wx' });
  const conflicts = sbatchEnvConflicts(io.env, plan);
  for (const x of conflicts) {
    io.stderr.write(
      `${c.yellow('raysl: warning:')} ignoring ${x.name}=${x.value} from the environment: it would override the planned job; use ${x.instead} or a profile\n`,
    );
  }
  const sbatchEnv = withoutConflicts(io.env, conflicts) as NodeJS.ProcessEnv;
  let stdout: string;
  try {
    stdout = await runSlurm(sbatchArgvFor(plan, scriptPath), { ...slurmOpts(io), env: sbatchEnv });
  } catch (err) {
    // no job holds the script: do not leave one raysl-<stamp>.sbatch per failed attempt behind
    rmSync(scriptPath, { force: true });
    throw err;
  }
  const { jobId } = parseSbatchParsable(stdout);
  const job = { jobId, root: plan.jobDir, paths: jobPaths(plan.jobDir, jobId) };
  makeJobDir(job.paths.dir);
  copyFileSync(scriptPath, join(job.paths.dir, 'job.sh'));
  chmodSync(join(job.paths.dir, 'job.sh'), fileModeIn(job.paths.dir));
  return { job, result: { jobId, jobDir: job.paths.dir, script: scriptPath } };
}

export const registerSubmit: Register = (program, app) => {
  const cmd = program
    .command('submit')
    .description('submit a job: an ephemeral cluster in one Slurm allocation that runs <entrypoint> on its head')
    .argument('<entrypoint>', 'script to run on the head node (.py -> ray, .ts/.js -> builtin)')
    .argument('[args...]', 'arguments for the entrypoint (after --)')
    .option('--dry-run', 'print the sbatch command and the script; submit nothing')
    .option('-f, --follow', 'show progress (queue, joins) and stream the entrypoint output; exit with its code');
  addJobOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ raysl submit -N 4 --gpus-per-node 8 -p gpu -t 2:00:00 train.ts -- --epochs 3
  $ raysl submit -N 2 train.py --follow            # queue, joins, then train.py's output; exits with its code
  $ raysl submit --dry-run -N 2 train.py           # the sbatch command and the whole script
  $ raysl submit --json -N 2 train.ts | jq -r .jobId

Exit code with --follow: the entrypoint's own; 4 the cluster did not form, 5 a node was lost
(Slurm's NODE_FAIL too, whichever signal came first), 130/143 interrupted or cancelled,
3 Slurm ended the job first (cancelled in the queue). Afterwards:
raysl status <id>, raysl logs <id> [--follow], raysl cancel <id>.`,
    )
    .action(async (entrypoint: string, args: string[], opts: Record<string, unknown>, command: Command) => {
      const io = app.io;
      const globals = globalsOf(command);
      const { plan, script } = await prepareJob(entrypoint, args, opts, io);
      const c = painter(globals, io);
      writeWarnings(globals, io, plan.warnings);
      const scriptPath = join(plan.jobDir, scriptName(io.now(), process.pid));
      const argv = sbatchArgvFor(plan, scriptPath);
      if (opts.dryRun) {
        assertNotAFile(plan.jobDir);
        if (globals.json) return writeJson(io, { argv, script, plan });
        io.stdout.write(`# ${commandLine(argv)}\n${script}`);
        return;
      }
      const { job, result } = await submitScript(plan, script, scriptPath, io, c);
      const { jobId } = job;

      if (!opts.follow) {
        if (globals.json) return writeJson(io, result);
        io.stdout.write(`${jobId}\n`);
        io.stderr.write(
          `submitted job ${jobId}; job dir ${job.paths.dir}\n  next: raysl status ${jobId} | raysl logs ${jobId} --follow | raysl cancel ${jobId}\n`,
        );
        return;
      }
      io.stderr.write(`submitted job ${jobId}; job dir ${job.paths.dir}\n`);
      const p = progress(globals, io);
      p.update('waiting for Slurm to schedule the job');
      const { promise: interrupt, stop } = onInterrupt();
      const followed = await followJob({ job, io, progress: p, stream: !globals.json, interrupt }).finally(stop);
      if (followed.interrupted) {
        const code = 128 + (followed.interrupted === 'SIGINT' ? 2 : 15);
        if (globals.json)
          writeJson(io, { ...result, following: 'stopped', signal: followed.interrupted, jobKeepsRunning: true });
        io.stderr.write(
          `raysl: stopped following on ${followed.interrupted}; job ${jobId} keeps running\n  follow it: raysl logs ${jobId} --follow | status: raysl status ${jobId} | cancel it: raysl cancel ${jobId}\n`,
        );
        app.setExitCode(code);
        return;
      }
      const { outcome } = followed;
      if (globals.json) writeJson(io, { ...result, exitCode: outcome.code, summary: outcome.summary });
      if (outcome.error) throw outcome.error;
      if (!globals.json) io.stderr.write(`${outcome.code === 0 ? c.green(outcome.summary) : c.red(outcome.summary)}\n`);
      app.setExitCode(outcome.code);
    });
};
