/**
 * Flags -> spec -> facts -> plan -> script: the one pipeline `render` and `submit` share, so what
 * `render` prints is exactly what `submit` submits.
 */
import { planJob } from '../core/plan.js';
import type { JobSpec, Plan } from '../core/types.js';
import { renderSbatch } from '../render/sbatch.js';
import { gatherFacts } from './facts.js';
import type { Io } from './io.js';
import { specFromCli } from './job-options.js';
import { rayslPaths } from './paths.js';
import { runtimeCommands } from '../runtimes/ray/argv.js';

export interface PreparedJob {
  spec: JobSpec;
  plan: Plan;
  script: string;
}

export async function prepareJob(
  entrypoint: string | null,
  args: string[],
  opts: Record<string, unknown>,
  io: Io,
): Promise<PreparedJob> {
  const spec = await specFromCli(entrypoint, args, opts, io);
  const facts = await gatherFacts(
    { ...(spec.partition ? { partition: spec.partition } : {}), noCheck: opts.check === false },
    io,
  );
  const paths = rayslPaths();
  const plan = planJob(spec, facts, {
    tsx: paths.tsx,
    nodeStripsTypes: paths.nodeStripsTypes,
    hook: paths.entryHook,
    node: paths.node,
    cwd: io.cwd,
  });
  return { spec, plan, script: renderSbatch(plan, { ...paths, runtimeCommands: runtimeCommands(plan) }) };
}
