/**
 * The controller: one per job, in the batch step on the head (or in-process under `run --local`).
 * Its lifecycle reads as its phases: allocate -> form (control server, port record, agents, probe
 * phase, join) -> run (the entrypoint) -> classify, with teardown in reverse start order, always,
 * bounded: every phase pushes what it starts on the teardown stack as it starts it. Every edge is
 * injected (principle 9).
 */
import type { Plan } from '../core/types.js';
import { withPhase, withState } from '../core/status.js';
import type { ExitInfo } from '../proc/terminate.js';
import { getRuntime } from '../runtimes/index.js';
import { placeAgents, readAllocation } from './allocate.js';
import { classify, type Outcome } from './classify.js';
import type { ControllerEdges } from './edges.js';
import { form } from './form.js';
import type { Job } from './job.js';
import { progressLog } from './log.js';
import { run } from './run.js';
import type { StatusFile } from '../jobdir/status-file.js';
import { writeJsonAtomic } from '../jobdir/write.js';
import { StopRequest, stopOnSignals, type StopReason } from './stop.js';
import { TeardownStack } from '../proc/teardown.js';
import { archiveEarlierAttempt, restartCountOf } from '../jobdir/attempts.js';
import { requeueDecision } from './requeue.js';
import { makeJobDir } from '../jobdir/modes.js';

export type { ControllerEdges } from './edges.js';

/** Runs one job; returns the entrypoint's exit code, throws RayslError (4, 5, 70) otherwise. */
export async function runController(plan: Plan, edges: ControllerEdges): Promise<number> {
  const t0 = edges.now();
  const alloc = readAllocation(plan, edges.env);
  makeJobDir(alloc.paths.dir);
  const attempt = restartCountOf(edges.env);
  const earlier = archiveEarlierAttempt(alloc.paths, attempt);
  const log = progressLog(edges.stderr, edges.now, t0);
  log.attachFile(alloc.paths.controllerLog);
  writeJsonAtomic(alloc.paths.plan, plan);
  const graceMs = edges.graceMs ?? 3000;
  const job: Job = {
    ...alloc,
    plan,
    edges,
    runtime: getRuntime(plan.runtime),
    log,
    t0,
    graceMs,
    attempt,
    stop: new StopRequest(),
    teardown: new TeardownStack({ log, boundMs: 4 * graceMs + 5000 }),
  };
  if (attempt > 0)
    log(
      `attempt ${attempt} (SLURM_RESTART_COUNT=${attempt}); the earlier attempts' files are in ${alloc.paths.dir}/attempt-<k>/`,
    );
  stopOnSignals(edges.signals ?? process, job.stop, job.teardown, log, edges.now);

  let status: StatusFile | undefined;
  let reason: StopReason | undefined;
  let error: unknown;
  let exit: ExitInfo | undefined;
  try {
    const placed = await placeAgents(plan, alloc, edges.launcher, t0);
    status = placed.status;
    if (attempt > 0 || plan.requeue)
      status.update((s) => ({ ...s, attempt, ...(earlier.length ? { attempts: earlier } : {}) }));
    const file = status;
    // a stop signal goes into the timeline when it comes (or at once, if it came while agents were placed)
    void job.stop.stopped.then(
      (r) =>
        r.kind === 'signal' &&
        file.update((s) =>
          withPhase(s, edges.now(), {
            phase: 'signal',
            detail: r.signal,
            ...(r.node !== undefined ? { node: r.node } : {}),
          }),
        ),
    );
    const cluster = await form(job, placed);
    ({ exit, stoppedBy: reason } = await run(job, placed, cluster));
  } catch (err) {
    // the reason at the moment a phase gave up: a signal that comes later does not make a failure a cancel
    reason = job.stop.reason;
    error = err ?? new Error('a phase threw undefined');
  }
  const outcome = classify(reason, error, exit);
  await finish(job, status, outcome, reason);
  if (outcome.error) throw outcome.error;
  return outcome.exitCode;
}

/** Records the outcome, undoes everything the phases started, and says so in the log and status.json. */
async function finish(
  job: Job,
  status: StatusFile | undefined,
  outcome: Outcome,
  reason: StopReason | undefined,
): Promise<void> {
  const { log, edges } = job;
  const { error, exitCode } = outcome;
  // a warning that came before the entrypoint ran has no preempt-warning line yet: one at the time it came
  if (reason?.kind === 'preempt' && !status?.value.timeline.some((e) => e.phase === 'preempt-warning')) {
    status?.update((s) =>
      withPhase(s, reason.atMs, {
        phase: 'preempt-warning',
        detail: 'SIGUSR2 from Slurm (time limit near, or preemption) before the entrypoint started',
      }),
    );
  }
  if (error) {
    log(`error: ${error.message}`);
    status?.update((s) => withPhase(s, edges.now(), { phase: 'error', code: error.exitCode, detail: error.message }));
  }
  status?.update((s) => withState(s, 'tearing-down'));
  const tTear = edges.now();
  await job.teardown.unwind();
  log(`torn down in ${((edges.now() - tTear) / 1000).toFixed(2)}s; exit ${exitCode}`);
  const decision = requeueDecision(job.plan, job.attempt, outcome, edges.requeue !== undefined);
  // one write: a reader never sees this attempt final without knowing whether another one follows
  status?.update((s) => {
    // every node that was still part of the job has been stopped by the teardown (lost and failed ones keep why)
    const nodes = s.nodes.map((n) => (n.state === 'joined' ? { ...n, state: 'stopped' as const } : n));
    const torn = withPhase({ ...withState(s, outcome.state), exitCode, nodes }, edges.now(), {
      phase: 'torn-down',
      code: exitCode,
    });
    const done = decision.requeue ? withPhase(torn, edges.now(), { phase: 'requeued', detail: decision.why }) : torn;
    return error ? { ...done, error: { message: error.message, ...(error.hint ? { hint: error.hint } : {}) } } : done;
  });
  await requeueIfAsked(job, status, decision);
  await log.close();
}

/**
 * --requeue: after a preemption or a lost node, while SLURM_RESTART_COUNT < --max-restarts, ask
 * Slurm to run the job again (the decision is already in the final record). Slurm kills this batch
 * step at once, so everything is written first.
 */
async function requeueIfAsked(
  job: Job,
  status: StatusFile | undefined,
  decision: ReturnType<typeof requeueDecision>,
): Promise<void> {
  const { log, edges, jobId } = job;
  if (decision.requeue === false) {
    if (decision.why) log(decision.why);
    return;
  }
  log(decision.why);
  try {
    await edges.requeue!(jobId);
  } catch (err) {
    const message = `scontrol requeue ${jobId} failed: ${(err as Error).message}`;
    log(message);
    status?.update((s) => withPhase(s, edges.now(), { phase: 'error', detail: message }));
  }
}
