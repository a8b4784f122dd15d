import { Option } from 'commander';
import type { Register } from './app.js';
import { UsageError } from '../core/errors.js';
import type { Plan } from '../core/types.js';
import { runController } from '../controller/controller.js';
import { localLauncher } from '../launchers/local.js';
import { srunLauncher, type SrunContainer } from '../launchers/srun.js';
import { packageRoot, rayslPaths } from './paths.js';
import { testFaults } from './test-faults.js';
import { requeueJob } from '../slurm/scontrol.js';

/** The plan arrives as JSON on argv (it is in the sbatch script anyway; it holds no secret). */
export function parsePlanArg(text: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(text) as Plan;
  } catch (err) {
    throw new UsageError('--plan is not valid JSON', { hint: 'the controller is started by the rendered sbatch script; re-render it with `raysl render`', cause: err });
  }
  if (typeof plan !== 'object' || plan === null || plan.version !== 1) {
    throw new UsageError(`--plan has version ${String((plan as { version?: unknown } | null)?.version)}, this raysl reads version 1`, {
      hint: 'render and submit the job with the same raysl version that runs it',
    });
  }
  return plan;
}

/** `--container-image`: pyxis mounts raysl's node binary and package root at their host paths. */
function containerOf(plan: Plan, paths: { node: string }): { container?: SrunContainer } {
  const c = plan.container;
  return c !== undefined && 'image' in c ? { container: { image: c.image, hostPaths: [paths.node, packageRoot()] } } : {};
}

// Hidden: the last line of the batch script runs it on the head node.
export const registerController: Register = (program, app) => {
  program
    .command('controller', { hidden: true })
    .description('job controller (run by the batch script on the head node)')
    .requiredOption('--plan <json>', 'the Plan as JSON')
    .addOption(new Option('--launcher <name>', 'how agents are started').choices(['srun', 'local']).default('srun'))
    .addHelpText('after', "\nExamples:\n  $ raysl controller --plan \"$(cat plan.json)\"            # inside an sbatch job\n")
    .action(async (opts: { plan: string; launcher: 'srun' | 'local' }) => {
      const plan = parsePlanArg(opts.plan);
      const paths = rayslPaths();
      const code = await runController(plan, {
        env: app.io.env,
        stdout: app.io.stdout,
        stderr: app.io.stderr,
        now: app.io.now,
        cwd: app.io.cwd,
        launcher: opts.launcher === 'local' ? localLauncher() : srunLauncher({ env: app.io.env, ...containerOf(plan, paths) }),
        agentArgv: [paths.node, '--', paths.raysl, 'agent'],
        clientHook: paths.entryHook,
        faults: testFaults(app.io.env),
        ...(opts.launcher === 'srun' ? { requeue: (jobId: string) => requeueJob(jobId, { env: app.io.env }) } : {}),
      });
      app.setExitCode(code);
    });
};
