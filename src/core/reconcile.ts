/**
 * What a job's state really is when status.json is not final. The controller rewrites status.json on
 * every change, but a controller killed by SIGKILL (or a node failure) leaves it at `running` or
 * `forming` for good. Readers gather facts (is the recorded controller process still the same one,
 * what does Slurm say) and this pure function decides: a non-final record contradicted by a fact
 * reads as `lost`, with why. Readers do not write the answer back (see cli/jobs.ts).
 */
import { isFinal, type JobState, type JobStatus } from './status.js';

export type ShownState = JobState | 'lost' | 'requeued';

/** Final Slurm job states (squeue/scontrol long names). */
export const SLURM_FINAL_STATES: readonly string[] = ['COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED'];

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
}

export interface Reconciled {
  state: ShownState;
  /** Why the shown state differs from the recorded one. */
  reason?: string;
}

export function isOver(state: ShownState): boolean {
  return state === 'lost' || (state !== 'requeued' && isFinal(state));
}

export function reconcile(status: JobStatus, facts: LivenessFacts): Reconciled {
  const recorded = status.state;
  // --requeue: the attempt is over, the job is not: Slurm has it back in the queue (or running it anew)
  const slurmLive = facts.slurm !== undefined && facts.slurm !== 'unlisted' && !SLURM_FINAL_STATES.includes(facts.slurm.state);
  if (isFinal(recorded) && status.timeline.at(-1)?.phase === 'requeued' && slurmLive) {
    const code = status.exitCode !== undefined ? ` (exit ${status.exitCode})` : '';
    return { state: 'requeued', reason: `attempt ${status.attempt ?? 0} ended ${recorded}${code} and was requeued; the next attempt's record replaces this one when it starts` };
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
    const why = slurm.reason && slurm.reason !== 'None' ? ` (${slurm.reason})` : '';
    return { state: 'lost', reason: `Slurm ended the job ${slurm.state}${why} before the controller wrote a final state; ${said}` };
  }
  return { state: recorded };
}

/** The agents as witnesses: any of them that lost the controller after this job started. */
function fromAgents(status: JobStatus, facts: LivenessFacts): Reconciled {
  const started = Date.parse(status.startedAt);
  const seen = (facts.agentsSawLoss ?? []).filter((r) => !(Date.parse(r.at) < started)).sort((a, b) => a.at.localeCompare(b.at));
  const first = seen[0];
  if (first === undefined) return { state: status.state };
  const others = seen.length > 1 ? ` (and ${seen.length - 1} other agent${seen.length > 2 ? 's' : ''})` : '';
  return { state: 'lost', reason: `agent ${first.node}${others} saw the controller go away at ${first.at}; status.json still says ${status.state}` };
}
