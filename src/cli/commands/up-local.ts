/**
 * `raysl up --local`: the cluster on simulated nodes, this process its controller until `raysl down`
 * or a signal. `--dry-run` prints the plan and starts nothing. `--wait` returns once the cluster
 * holds, as on Slurm: the controller then runs on in a process of its own (its own session, so
 * closing the terminal does not end it), started with the same command line less --wait.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { jobPaths } from '../../core/jobdir.js';
import { globalsOf, type App } from '../app.js';
import { writeJson, writeWarnings } from '../io.js';
import { rayslPaths } from '../paths.js';
import { planLocal, runLocal } from './run.js';
import { waitUntilHolding } from '../live-job.js';
import { nextCommands, sayNext } from '../up-next.js';

export async function upLocal(opts: Record<string, unknown>, app: App, command: Command): Promise<void> {
  if (opts.dryRun) return printPlan(opts, app, command);
  // waiting is up's default on Slurm; here only an explicit --wait moves the controller to the background
  if (opts.wait && command.getOptionValueSource('wait') === 'cli') return upInBackground(opts, app, command);
  const json = globalsOf(command).json;
  const code = await runLocal(null, [], opts, app, command, ({ jobId, jobDir, address }) => {
    if (json) writeJson(app.io, { jobId, jobDir, controller: address, next: nextCommands(jobId) });
    else app.io.stdout.write(`${jobId}\n`);
    sayNext(app.io, jobId, jobDir, 'local cluster');
  });
  app.setExitCode(code);
}

/** --dry-run: there is no batch script without Slurm; the plan is what would run. */
async function printPlan(opts: Record<string, unknown>, app: App, command: Command): Promise<void> {
  const { plan, nodes } = await planLocal(null, [], opts, app);
  const globals = globalsOf(command);
  writeWarnings(globals, app.io, plan.warnings);
  if (globals.json) return writeJson(app.io, { plan, nodes });
  app.io.stderr.write(
    `dry run: nothing started; the plan raysl up --local would run on ${nodes.length} simulated node(s):\n`,
  );
  app.io.stdout.write(JSON.stringify(plan, null, 2) + '\n');
}

interface Started {
  jobId: string;
  jobDir: string;
}

/** The background controller's first word on stdout (up --local --json): its job, or undefined if it ended first. */
function firstReport(child: ReturnType<typeof spawn>): Promise<Started | undefined> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout!.on('data', (b: Buffer) => {
      text += b.toString();
      try {
        const r = JSON.parse(text) as Started;
        resolve({ jobId: r.jobId, jobDir: r.jobDir });
      } catch {
        // not the whole document yet
      }
    });
    child.once('close', () => resolve(undefined));
    child.once('error', () => resolve(undefined));
  });
}

async function upInBackground(opts: Record<string, unknown>, app: App, command: Command): Promise<void> {
  const io = app.io;
  const globals = globalsOf(command);
  // every mistake is reported here, before a background process exists
  await planLocal(null, [], opts, app);
  const argv = app.argv.filter((a) => a !== '--wait' && a !== '--json');
  const child = spawn(rayslPaths().node, [rayslPaths().raysl, ...argv, '--json'], {
    cwd: io.cwd,
    env: io.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // its progress (setup output, joins) reaches the user until the cluster holds
  child.stderr!.on('data', (b: Buffer) => io.stderr.write(b));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
  const started = await firstReport(child);
  if (started === undefined) {
    app.setExitCode(await exited);
    return;
  }
  const root = dirname(started.jobDir);
  const waited = await waitUntilHolding(
    { jobId: started.jobId, root, paths: jobPaths(root, started.jobId) },
    io,
    (line) => io.stderr.write(`raysl: ${line}\n`),
  );
  // from here the cluster is on its own: its later output goes to controller.log only
  child.stdout!.destroy();
  child.stderr!.destroy();
  child.unref();
  if (globals.json)
    writeJson(io, {
      jobId: started.jobId,
      jobDir: started.jobDir,
      holding: waited.holding,
      state: waited.holding ? 'holding' : waited.state,
      controllerPid: child.pid,
      next: nextCommands(started.jobId),
    });
  else if (waited.holding) io.stdout.write(`${started.jobId}\n`);
  if (!waited.holding) {
    io.stderr.write(`raysl: cluster ${started.jobId} ${waited.why}: raysl status ${started.jobId}\n`);
    app.setExitCode(4);
    return;
  }
  if (!globals.json)
    sayNext(
      io,
      started.jobId,
      started.jobDir,
      'cluster ready (its controller runs in the background, pid ' + String(child.pid) + '):',
    );
}
