/**
 * Run: the user's entrypoint on the head, once the cluster formed, until it exits or the job is
 * stopped (a signal, a lost node): then it is stopped (TERM, grace, KILL) and its exit is kept.
 * A plan without an entrypoint (`raysl up`) holds the cluster for `raysl exec` instead (hold.ts).
 */
import { join } from 'node:path';
import { appPortsEnv } from '../core/ports.js';
import { withPhase, withState } from '../core/status.js';
import { KILL_WAIT_MS, type Escalation, type ExitInfo } from '../proc/terminate.js';
import type { Plan } from '../core/types.js';
import type { AgentRegistry } from './agents.js';
import type { Placement } from './allocate.js';
import { signalNumber } from './classify.js';
import { entrypointArgv, exitCodeOf, onHead, startEntrypoint } from './entrypoint.js';
import { hold } from './hold.js';
import { startAutoscalePhase } from './autoscale-phase.js';
import type { Cluster } from './form.js';
import type { Job } from './job.js';
import { ADDRESS_ENV, TOKEN_ENV } from '../core/env-names.js';
import { nodesEnv } from './nodes-env.js';
import type { StopReason } from './stop.js';
import { writeFileAtomic } from '../jobdir/write.js';

export interface RunEnd {
  exit: ExitInfo;
  /** Set when the job was stopped before the entrypoint ended on its own. */
  stoppedBy?: StopReason;
}

export async function run(job: Job, placed: Placement, cluster: Cluster): Promise<RunEnd> {
  const { plan, edges, head, paths, log, graceMs } = job;
  const { status } = placed;
  const { agents } = cluster;
  const entryEnv = entrypointEnv(job, placed, cluster);
  startAutoscalePhase(job, cluster, entryEnv, status);
  if (plan.entrypoint === null) return hold(job, placed, cluster, entryEnv);
  const own = entrypointArgv(plan.entrypoint, plan.container);
  const argv = onHead(job, edges.cwd, plan.entrypoint.path, own);
  const entry = startEntrypoint({
    argv,
    env: entryEnv,
    cwd: edges.cwd,
    logPath: paths.entrypointLog,
    stdout: edges.stdout,
    stderr: edges.stderr,
  });
  job.teardown.push({
    name: 'entrypoint',
    run: async () => void (await entry.stop(graceMs)),
    hurry: () => void entry.stop(0),
    boundMs: 2 * graceMs + 5000,
  });
  log(
    entry.pid !== undefined
      ? `entrypoint started (pid ${entry.pid}): ${argv.join(' ')}`
      : `entrypoint could not be started: ${argv.join(' ')}`,
  );
  // the head's agent shares this machine: should this controller die, it stops the entrypoint's group
  if (entry.pid !== undefined) agents.send(head, { t: 'entrypoint', pgid: entry.pid });
  status.update((s) => withPhase(withState(s, 'running'), edges.now(), { phase: 'entrypoint-started' }));

  const end = await Promise.race([
    entry.exited.then((exit): RunEnd => ({ exit })),
    job.stop.stopped.then((stoppedBy) => ({ stoppedBy })),
  ]);
  // stopping the entrypoint (its grace, the user's preemption grace) is part of the teardown: say so now
  if (end.stoppedBy) status.update((s) => withState(s, 'tearing-down'));
  let exit: ExitInfo;
  if ('exit' in end) exit = end.exit;
  else if (end.stoppedBy.kind === 'preempt') {
    const warnedAt = end.stoppedBy.atMs;
    const steps = preemptEscalation(plan.preempt, graceMs);
    const told = `${steps[0]!.signal} to the entrypoint's process group, up to ${(steps[0]!.waitMs / 1000).toFixed(0)} s to exit`;
    log(`Slurm's warning: ${told}`);
    status.update((s) =>
      withPhase(s, warnedAt, {
        phase: 'preempt-warning',
        detail: `SIGUSR2 from Slurm (time limit near, or preemption): ${told}`,
      }),
    );
    exit = await entry.stopWith(steps);
  } else exit = await entry.stop(graceMs);
  log(
    `entrypoint ${end.stoppedBy ? 'stopped' : 'exited'} (${exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`})`,
  );
  status.update((s) => withPhase(s, edges.now(), { phase: 'entrypoint-exited', code: exitCodeOf(exit, signalNumber) }));
  return { exit, ...(end.stoppedBy ? { stoppedBy: end.stoppedBy } : {}) };
}

/** What the entrypoint (and every `raysl exec` command) sees: the job's address, token, nodes, ports and the runtime's own variables. */
function entrypointEnv(job: Job, placed: Placement, cluster: Cluster): NodeJS.ProcessEnv {
  const { plan, edges, jobId, paths, log } = job;
  const { headAddress } = placed;
  const { agents, block, controllerAddress, token } = cluster;
  const nodes = nodesEnv(agents.joinedNodes(), join(paths.dir, 'nodes.json'));
  writeFileAtomic(join(paths.dir, 'nodes.json'), nodes.json + '\n');
  if (nodes.tooLong)
    log(`RAYSL_NODES left out of the entrypoint's environment (${nodes.json.length} bytes); RAYSL_NODES_FILE names it`);
  return withoutUnset({
    ...edges.env,
    [ADDRESS_ENV]: controllerAddress,
    [TOKEN_ENV]: token,
    RAYSL_JOB_DIR: paths.dir,
    RAYSL_JOB_ID: jobId,
    RAYSL_RESTART_COUNT: String(job.attempt),
    ...nodes.env,
    ...appPortsEnv(block.base, plan.portLayout),
    PYTHONUNBUFFERED: '1',
    ...job.runtime.entrypointEnv({
      address: runtimeHeadAddress(agents, headAddress),
      portBase: block.base,
      layout: plan.portLayout,
      rayAuth: plan.rayAuth,
      tokenFile: paths.token,
      jobDir: paths.dir,
    }),
    ...plan.env,
  });
}

/**
 * At Slurm's warning: the user's signal and its grace (of --preempt-grace, less teardown's reserve),
 * then the usual TERM and KILL. Without a planned warning (USR2 from elsewhere) the usual stop.
 */
function preemptEscalation(preempt: Plan['preempt'], graceMs: number): Escalation {
  if (!preempt)
    return [
      { signal: 'SIGTERM', waitMs: graceMs },
      { signal: 'SIGKILL', waitMs: KILL_WAIT_MS },
    ];
  const told = { signal: preempt.signal, waitMs: preempt.entrypointGraceSec * 1000 };
  const term = preempt.signal === 'SIGTERM' ? [] : [{ signal: 'SIGTERM' as const, waitMs: graceMs }];
  return [told, ...term, { signal: 'SIGKILL', waitMs: KILL_WAIT_MS }];
}

/** The head's runtime address as its agent reported it (a builtin job may start without its head). */
function runtimeHeadAddress(agents: AgentRegistry, fallback: string): string {
  return agents.joinedNodes().find((n) => n.role === 'head')?.address ?? fallback;
}

/** Drops the keys a runtime asked to remove (undefined) from an environment. */
function withoutUnset(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}
