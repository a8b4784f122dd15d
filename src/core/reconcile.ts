/**
 * What a job's state really is when status.json is not final. The controller rewrites status.json on
 * every change, but a controller killed by SIGKILL (or a node failure) leaves it at `running` or
 * `forming` for good. Readers gather facts (is the recorded controller process still the same one,
 * what does Slurm say) and this pure function decides: a non-final record contradicted by a fact
 * reads as `lost`, with why. Readers do not write the answer back (see cli/jobs.ts).
 */
import { ExitCode } from './errors.js';
import { isFinal, type JobState, type JobStatus, type StatusNode } from './status.js';

export type ShownState = JobState | 'lost' | 'requeued';

/** Final Slurm job states (squeue/scontrol long names). */
export const SLURM_FINAL_STATES: readonly string[] = [
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
];

export interface LivenessFacts {
  /**
   * Local launcher: is the controller recorded in status.json (pid and start time) still running?
   * undefined when it cannot be told (another host, no /proc).
   */
  controllerAlive?: boolean;
  /** Slurm's view; 'unlisted' when Slurm no longer lists the job; undefined when not asked or unreachable. */
  slurm?: { state: string; reason?: string } | 'unlisted';
  /**
   * Agents of this job that recorded losing the controller (agent-<node>.ending.json with outcome
   * 'lost'). Used only when neither the controller's pid nor Slurm could be asked.
   */
  agentsSawLoss?: Array<{ node: string; at: string }>;
  /** How each agent that ended said it ended (agent-<node>.ending.json): the nodes' truth once the controller is gone. */
  agentEndings?: Array<{ node: string; outcome: string; line: string; at: string }>;
  /** `raysl cancel`/`down` asked for the stop (cancel-request.json) before the controller went away. */
  cancelRequested?: { at: string; graceSec: number };
}

export interface Reconciled {
  state: ShownState;
  /** Why the shown state differs from the recorded one. */
  reason?: string;
  /** The nodes as the facts tell them, when status.json's list is stale (the controller went away with nodes `joined`). */
  nodes?: StatusNode[];
  /** The exit code the facts give, when it differs from the record's (a node failure: 5). */
  exitCode?: number;
}

/** Slurm's reasons that say nothing to a raysl user, explained (the batch step is the controller). */
const SLURM_REASONS: Readonly<Record<string, string>> = {
  JobLaunchFailure:
    'JobLaunchFailure: what Slurm reports when the batch step ends abnormally; the batch step is the raysl controller, so it was killed (SIGKILL, the OOM killer) before it wrote a final state',
  NodeFail: 'NodeFail: a node of the job stopped answering slurmctld',
};

export function isOver(state: ShownState): boolean {
  return state === 'lost' || (state !== 'requeued' && isFinal(state));
}

export function reconcile(status: JobStatus, facts: LivenessFacts): Reconciled {
  const r = reconcileState(status, facts);
  if (r.state !== 'lost') return r;
  const nodes = nodesAfterLoss(status.nodes, facts.agentEndings ?? []);
  const cancel = facts.cancelRequested;
  // the user asked for the stop and the controller was forced before it wrote the end: cancelled, as asked
  if (cancel !== undefined && !(Date.parse(cancel.at) < Date.parse(status.startedAt))) {
    const forced = `raysl cancel asked for an orderly stop at ${cancel.at}; the controller had not finished it after the ${cancel.graceSec}s --grace and was killed (each agent tears its node down when its controller goes away)`;
    return { state: 'cancelled', reason: `${forced}; ${r.reason ?? ''}`.replace(/; $/, ''), nodes };
  }
  return { ...r, nodes };
}

/** Nodes status.json left as joined (or pending) once the controller is gone: what their agents' endings say. */
function nodesAfterLoss(
  nodes: readonly StatusNode[],
  endings: NonNullable<LivenessFacts['agentEndings']>,
): StatusNode[] {
  return nodes.map((n) => {
    if (n.state !== 'joined' && n.state !== 'pending') return n;
    const end = endings.find((e) => e.node === n.name);
    if (end === undefined)
      return { ...n, state: 'lost', reason: `no record of its end: the controller went away while it was ${n.state}` };
    return { ...n, state: 'stopped', reason: `its agent ended at ${end.at} (${end.outcome}): ${end.line}` };
  });
}

function reconcileState(status: JobStatus, facts: LivenessFacts): Reconciled {
  const recorded = status.state;
  // --requeue: the attempt is over, the job is not: Slurm has it back in the queue (or running it anew)
  const slurmLive =
    facts.slurm !== undefined && facts.slurm !== 'unlisted' && !SLURM_FINAL_STATES.includes(facts.slurm.state);
  if (isFinal(recorded) && status.timeline.at(-1)?.phase === 'requeued' && slurmLive) {
    const code = status.exitCode !== undefined ? ` (exit ${status.exitCode})` : '';
    return {
      state: 'requeued',
      reason: `attempt ${status.attempt ?? 0} ended ${recorded}${code} and was requeued; the next attempt's record replaces this one when it starts`,
    };
  }
  // Slurm's node failure ends the job with TERM: the controller may record a cancel (143). A node failure is one thing: failed, 5
  if (
    isFinal(recorded) &&
    facts.slurm !== undefined &&
    facts.slurm !== 'unlisted' &&
    facts.slurm.state === 'NODE_FAIL' &&
    status.exitCode !== ExitCode.nodeLost
  ) {
    return {
      state: 'failed',
      exitCode: ExitCode.nodeLost,
      reason: `a node failed: Slurm ended the job NODE_FAIL; the controller saw only its stop and recorded ${recorded}${status.exitCode !== undefined ? ` (exit ${status.exitCode})` : ''}`,
    };
  }
  if (isFinal(recorded)) return { state: recorded };
  const said = `status.json still says ${recorded}`;
  if (status.launcher === 'local') {
    if (facts.controllerAlive === false) {
      const pid = status.controllerPid !== undefined ? ` (pid ${status.controllerPid})` : '';
      return { state: 'lost', reason: `the controller${pid} is gone without writing a final state; ${said}` };
    }
    return facts.controllerAlive === undefined ? fromAgents(status, facts) : { state: recorded };
  }
  const slurm = facts.slurm;
  if (slurm === undefined) return fromAgents(status, facts);
  if (slurm === 'unlisted') return { state: 'lost', reason: `Slurm no longer lists the job; ${said}` };
  if (slurm && SLURM_FINAL_STATES.includes(slurm.state)) {
    const why = slurm.reason && slurm.reason !== 'None' ? ` (${SLURM_REASONS[slurm.reason] ?? slurm.reason})` : '';
    return {
      state: 'lost',
      reason: `Slurm ended the job ${slurm.state}${why} before the controller wrote a final state; ${said}`,
    };
  }
  return { state: recorded };
}

/** The agents as witnesses: any of them that lost the controller after this job started. */
function fromAgents(status: JobStatus, facts: LivenessFacts): Reconciled {
  const started = Date.parse(status.startedAt);
  const seen = (facts.agentsSawLoss ?? [])
    .filter((r) => !(Date.parse(r.at) < started))
    .sort((a, b) => a.at.localeCompare(b.at));
  const first = seen[0];
  if (first === undefined) return { state: status.state };
  const others = seen.length > 1 ? ` (and ${seen.length - 1} other agent${seen.length > 2 ? 's' : ''})` : '';
  return {
    state: 'lost',
    reason: `agent ${first.node}${others} saw the controller go away at ${first.at}; status.json still says ${status.state}`,
  };
}
