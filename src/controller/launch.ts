/**
 * Launch: an agent on every node through the launcher. Teardown undoes it in two steps, pushed in
 * start order: the leftovers sweep (pushed first, so it runs after the agents are gone) and the
 * agents themselves.
 */
import { join } from 'node:path';
import { within } from '../proc/terminate.js';
import type { AgentRegistry } from './agents.js';
import type { Placement } from './allocate.js';
import type { Job } from './job.js';
import { JOIN_TIMEOUT_ENV, TOKEN_ENV } from '../core/env-names.js';
import { wrapperPrefix } from '../core/container.js';

/** Starts an agent on every node; pushes the leftovers sweep, then the agents, on the teardown stack. */
export async function launchAgents(
  job: Job,
  placed: Placement,
  agents: AgentRegistry,
  controllerAddress: string,
  token: string,
): Promise<void> {
  const { plan, edges, jobId, nodes, paths, log, teardown, graceMs, scratchRoot } = job;
  // every node-local dir of the job: the launcher removes them where an agent could not
  const dirs = [
    scratchRoot,
    ...nodes.flatMap(
      (n) => job.runtime.dirsOutsideScratch?.({ jobId, nodeName: n, scratchDir: join(scratchRoot, n) }) ?? [],
    ),
  ];
  // after the agents are gone (an agent killed with SIGKILL cannot stop its runtime or tidy up)
  teardown.push({
    name: 'leftovers',
    run: async () => {
      const n = (await edges.launcher.sweep?.(jobId, dirs, graceMs)) ?? 0;
      if (n > 0) log(`killed ${n} process(es) of the job that outlived their agent (found by RAYSL_JOB_ID=${jobId})`);
    },
  });
  const agentEnv: NodeJS.ProcessEnv = {
    ...edges.env,
    ...plan.env,
    [TOKEN_ENV]: token,
    RAYSL_JOB_ID: jobId,
    RAYSL_JOB_DIR: paths.dir,
    [JOIN_TIMEOUT_ENV]: String(plan.joinTimeoutSec),
  };
  const launched = await edges.launcher.launch({
    jobId,
    targets: placed.slots.map((s) => ({ node: s.name, role: s.role, address: s.address, log: s.log })),
    agentArgv: [...wrapperPrefix(plan.container), ...edges.agentArgv],
    controller: controllerAddress,
    env: agentEnv,
    perNode: plan.perNode,
    ...(plan.hetjob ? { hetjob: plan.hetjob } : {}),
    log,
    nodeDirs: dirs,
  });
  // politely (every agent stops its runtime), then by force
  teardown.push({
    name: 'agents',
    run: async () => {
      await agents.stopAll('the job is ending', graceMs);
      if ((await within(launched.allExited, graceMs)) === 'timeout') await launched.stop(graceMs);
    },
    hurry: () => {
      agents.shuttingDown();
      void launched.stop(0);
    },
    boundMs: 3 * graceMs + 5000,
  });
  launched.onExit((e) => {
    const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
    for (const n of e.nodes) agents.agentExited(n, how);
  });
}
