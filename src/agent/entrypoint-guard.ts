/**
 * The head's agent outlives a controller killed by SIGKILL, which cannot stop its entrypoint
 * itself: the controller tells this agent the entrypoint's process group, and the agent stops it
 * in its teardown when (and only when) it lost the controller.
 */
import { readFileSync } from 'node:fs';
import { groupLive } from '../proc/group.js';
import { terminatePgid } from '../proc/terminate.js';
import type { AgentContext } from './context.js';

export function guardEntrypoint(ctx: AgentContext, pgid: number): void {
  ctx.log(`the entrypoint runs as process group ${pgid}: stopped by this agent if the controller goes away`);
  ctx.teardown.push({
    name: `the entrypoint's process group ${pgid}`,
    run: async () => {
      if (ctx.ending.value?.kind === 'lost')
        await stopOrphanedEntrypoint(pgid, ctx.env.RAYSL_JOB_ID, ctx.graceMs, ctx.log);
    },
  });
}

/**
 * TERM, grace, KILL for the entrypoint's process group. A group with members keeps its id from
 * being reused; the leader's environment (when it is still there) must name this job, in case
 * the whole group ended and another process took the number meanwhile.
 */
async function stopOrphanedEntrypoint(
  pgid: number,
  jobId: string | undefined,
  graceMs: number,
  log: (l: string) => void,
): Promise<void> {
  let environ = '';
  try {
    environ = readFileSync(`/proc/${pgid}/environ`, 'utf8');
  } catch {
    // the leader is gone (its group may live on) or /proc is not ours to read
  }
  if (environ !== '' && jobId !== undefined && !environ.includes(`RAYSL_JOB_ID=${jobId}\0`)) return;
  if (!groupLive(pgid)) return;
  log(`stopping the entrypoint's process group ${pgid} (its controller is gone)`);
  await terminatePgid(pgid, graceMs);
}
