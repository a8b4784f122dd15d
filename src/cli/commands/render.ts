/**
 * `raysl render`: the dry run. Prints the exact sbatch script `raysl submit` would submit (or, with
 * --json, the sbatch argv, the script and the plan). Submits nothing, writes nothing.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { sbatchArgvFor } from '../../render/sbatch.js';
import { globalsOf, type Register } from '../app.js';
import { writeJson, writeWarnings } from '../io.js';
import { addJobOptions } from '../job-options.js';
import { assertNotAFile } from '../job-dir-check.js';
import { prepareJob } from '../prepare-job.js';

export const registerRender: Register = (program, app) => {
  const cmd = program
    .command('render')
    .description('print the sbatch script for a job (submits nothing)')
    .argument('<entrypoint>', 'script to run on the head node (.py -> ray, .ts/.js -> builtin)')
    .argument('[args...]', 'arguments for the entrypoint (after --)');
  addJobOptions(cmd)
    .addHelpText(
      'after',
      `
Examples:
  $ raysl render -N 2 train.py > job.sh && sbatch job.sh
  $ raysl render -N 4 --gpus-per-node 8 -p gpu -t 2:00:00 train.ts -- --epochs 3
  $ raysl render --profile gpu --setup 'module load cuda/12.4' --env NCCL_DEBUG=INFO train.py
  $ raysl render --json -N 2 train.py | jq .plan.aggregate
  $ raysl render --no-check -N 2 train.py      # sinfo unreachable: nothing checked

Profiles come from raysl.config.json|yaml (this directory or a parent) and
$XDG_CONFIG_HOME/raysl/config.json|yaml; flags override the profile, the profile overrides defaults.`,
    )
    .action(async (entrypoint: string, args: string[], _opts: unknown, command: Command) => {
      const io = app.io;
      const opts = command.opts<Record<string, unknown>>();
      const globals = globalsOf(command);
      const { plan, script } = await prepareJob(entrypoint, args, opts, io);
      assertNotAFile(plan.jobDir);
      const warnings = [...plan.warnings];
      // sbatch opens --output before the script runs and does not create its directory
      if (!existsSync(plan.jobDir))
        warnings.push(
          `job dir ${plan.jobDir} does not exist yet: mkdir -p it before a plain sbatch (raysl submit creates it)`,
        );
      writeWarnings(globals, io, warnings);
      if (globals.json) {
        writeJson(io, { argv: sbatchArgvFor(plan, '<script>'), script, plan });
        return;
      }
      io.stdout.write(script);
    });
};
