import { fchmodSync, fstatSync, readFileSync, readlinkSync } from 'node:fs';
import { fileModeFor } from '../../jobdir/modes.js';
import { Option } from 'commander';
import type { Register } from '../app.js';
import { UsageError } from '../../core/errors.js';
import type { Plan } from '../../core/types.js';
import { runController } from '../../controller/controller.js';
import { localLauncher } from '../../launchers/local.js';
import { srunLauncher, type SrunContainer } from '../../launchers/srun.js';
import { packageRoot, rayslPaths } from '../paths.js';
import { controllerFaults } from '../injected-faults.js';
import { requeueJob } from '../../slurm/scontrol.js';
import { satelliteSlurm } from '../../launchers/satellite-slurm.js';

/**
 * The plan as JSON, from a file or `-` (stdin: the batch script's heredoc). Never from argv: it
 * carries the --env values, and every user on the node reads every process's command line.
 */
function readPlanFrom(from: string): Plan {
  let text: string;
  try {
    text = readFileSync(from === '-' ? 0 : from, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the plan from ${from === '-' ? 'stdin' : from}: ${(err as Error).message}`, {
      hint: 'the controller is started by the rendered sbatch script, which passes the plan on stdin; re-render it with `raysl render`',
      cause: err,
    });
  }
  return parsePlanText(text);
}

function parsePlanText(text: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(text) as Plan;
  } catch (err) {
    throw new UsageError('the plan is not valid JSON', {
      hint: 'the controller is started by the rendered sbatch script; re-render it with `raysl render`',
      cause: err,
    });
  }
  if (typeof plan !== 'object' || plan === null || plan.version !== 1) {
    throw new UsageError(
      `the plan has version ${String((plan as { version?: unknown } | null)?.version)}, this raysl reads version 1`,
      {
        hint: 'render and submit the job with the same raysl version that runs it',
      },
    );
  }
  return plan;
}

/**
 * The batch log (sbatch --output, our stdout and stderr) is created by Slurm with the submitter's
 * umask, usually world-readable, and it gets the entrypoint's output. Made private (or the group's,
 * in a set-group-ID job dir root) as the controller starts. Not a file (a terminal, a pipe under a
 * test) or not ours: left alone.
 */
function privateBatchLog(): void {
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.uid !== process.getuid?.()) continue;
      fchmodSync(fd, fileModeFor(readlinkSync(`/proc/self/fd/${fd}`)));
    } catch {
      // no /proc, or a file we may not chmod: nothing to do about it here
    }
  }
}

/** `--container-image`: pyxis mounts raysl's node binary and package root at their host paths. */
function containerOf(plan: Plan, paths: { node: string }): { container?: SrunContainer } {
  const c = plan.container;
  return c !== undefined && 'image' in c
    ? { container: { image: c.image, hostPaths: [paths.node, packageRoot()] } }
    : {};
}

// Hidden: the last line of the batch script runs it on the head node.
export const registerController: Register = (program, app) => {
  program
    .command('controller', { hidden: true })
    .description('job controller (run by the batch script on the head node)')
    .requiredOption('--plan-from <file>', 'read the Plan (JSON) from this file, - for stdin')
    .addOption(new Option('--launcher <name>', 'how agents are started').choices(['srun', 'local']).default('srun'))
    .addHelpText(
      'after',
      "\nExamples:\n  $ raysl controller --plan-from - <<'RAYSL_PLAN'          # inside an sbatch job: the plan on stdin\n",
    )
    .action(async (opts: { planFrom: string; launcher: 'srun' | 'local' }) => {
      const plan = readPlanFrom(opts.planFrom);
      privateBatchLog();
      const paths = rayslPaths();
      const code = await runController(plan, {
        env: app.io.env,
        stdout: app.io.stdout,
        stderr: app.io.stderr,
        now: app.io.now,
        cwd: app.io.cwd,
        launcher:
          opts.launcher === 'local' ? localLauncher() : srunLauncher({ env: app.io.env, ...containerOf(plan, paths) }),
        agentArgv: [paths.node, '--', paths.raysl, 'agent'],
        clientHook: paths.entryHook,
        ...controllerFaults(),
        ...(opts.launcher === 'srun'
          ? {
              requeue: (jobId: string) => requeueJob(jobId, { env: app.io.env }),
              satellites: satelliteSlurm({ env: app.io.env }),
            }
          : {}),
      });
      app.setExitCode(code);
    });
};
