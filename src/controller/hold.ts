/**
 * Hold: a cluster from `raysl up` has no entrypoint. Once formed it serves `raysl exec` (exec.ts)
 * until the job is stopped: `raysl down` or a signal (the time limit's warning signal included)
 * ends it as a success, exit 0; a lost node ends it as a failure (5), as it would a job.
 */
import { wrapperPrefix } from '../core/container.js';
import { nodeOptionsWithHook } from '../core/entrypoint.js';
import { withPhase, withState } from '../core/status.js';
import type { Placement } from './allocate.js';
import { onHead } from './entrypoint.js';
import { ExecHost } from './exec.js';
import type { Cluster } from './form.js';
import type { Job } from './job.js';
import type { RunEnd } from './run.js';

export async function hold(job: Job, placed: Placement, cluster: Cluster, env: NodeJS.ProcessEnv): Promise<RunEnd> {
  const { plan, edges, head, paths, log, graceMs, jobId } = job;
  const { status } = placed;
  const host = new ExecHost({
    // `raysl exec ID -- node client.mjs`: 'raysl' resolves as in an entrypoint (the hook, through NODE_OPTIONS)
    env: edges.clientHook ? { ...env, NODE_OPTIONS: nodeOptionsWithHook(env.NODE_OPTIONS, edges.clientHook) } : env,
    jobCwd: edges.cwd,
    jobDir: paths.dir,
    head,
    graceMs,
    log,
    onStart: (n, pid, argv) => {
      // the head's agent stops the command's group should this controller die
      if (pid !== undefined) cluster.agents.send(head, { t: 'entrypoint', pgid: pid });
      status.update((s) =>
        withPhase(s, edges.now(), { phase: 'exec-started', detail: `exec ${n}: ${argv.join(' ')}` }),
      );
    },
    wrap: (argv, cwd) => {
      const own = [...wrapperPrefix(plan.container), ...argv];
      return onHead(job, cwd, argv[0] ?? '', own);
    },
    onExit: (n, code) =>
      status.update((s) => withPhase(s, edges.now(), { phase: 'exec-exited', code, detail: `exec ${n}` })),
  });
  job.teardown.push({
    name: 'exec commands',
    run: () => host.close(graceMs),
    hurry: () => void host.close(0),
    boundMs: 2 * graceMs + 5000,
  });
  cluster.control.serveExec(host);
  status.update((s) => withPhase(withState(s, 'running'), edges.now(), { phase: 'holding' }));
  log(`ready, holding for exec: raysl exec ${jobId} -- <command>; raysl down ${jobId} ends it`);
  const reason = await job.stop.stopped;
  // a lost node fails it, Slurm's warning (time limit near, or preemption) ends it as preempted (exit 6)
  if (reason.kind === 'node-lost' || reason.kind === 'preempt') {
    if (reason.kind === 'preempt') log("Slurm's warning (time limit near, or preemption): the held cluster ends");
    return { exit: { code: 0, signal: null }, stoppedBy: reason };
  }
  log(`stop requested (${reason.signal}): the held cluster ends`);
  return { exit: { code: 0, signal: null } };
}
