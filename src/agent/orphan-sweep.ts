/**
 * When the controller is gone (kill -9, its node lost), nobody runs the job's teardown: each agent
 * then KILLs what still carries the job's marker (RAYSL_JOB_ID=<job> in its environment), which
 * reaches what escaped every process group (`setsid`, double forks of the entrypoint or of a
 * command). Other agents of the job are left to end themselves: they lost the controller too.
 * Only under `run --local`: under Slurm the job's cgroup does it (Slurm's end of the job).
 */
import { readFileSync } from 'node:fs';
import { LOCAL_LAUNCHER_ENV } from '../core/env-names.js';
import { killMarked } from '../proc/sweep.js';
import type { AgentContext } from './context.js';

export function sweepWhenOrphaned(ctx: AgentContext): void {
  const jobId = ctx.env.RAYSL_JOB_ID;
  // under Slurm the job's cgroup reaches them, and a worker that merely lost its connection must
  // not kill processes of the job (the head's srun steps) that the controller still owns
  if (jobId === undefined || jobId === '' || ctx.env[LOCAL_LAUNCHER_ENV] !== '1') return;
  ctx.teardown.push({
    name: "the job's processes that outlived their groups",
    run: async () => {
      if (ctx.ending.value?.kind !== 'lost') return;
      const n = await killMarked('RAYSL_JOB_ID', jobId, ctx.graceMs, [], isRayslAgent);
      if (n > 0)
        ctx.log(`killed ${n} process(es) of job ${jobId} that outlived their process groups (found by RAYSL_JOB_ID)`);
    },
  });
}

/** `node .../raysl.mjs agent ...` (or bin/raysl agent): a sibling agent of the same job. */
function isRayslAgent(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a, i) => i > 0 && a === 'agent' && /(^|\/)(raysl\.mjs|raysl)$/.test(argv[i - 1] ?? ''));
  } catch {
    return false;
  }
}
