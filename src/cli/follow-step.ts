/**
 * The decisions of following a job (follow.ts is the loop that does the I/O), pure: given what the
 * follower knows so far and what it just read (status.json, maybe squeue), what to print, and
 * whether to wait, ask Slurm why the job ended, or stop with an outcome. Tested on sequences.
 */
import { isFinal, type JobStatus } from '../core/status.js';
import type { SlurmJob } from '../slurm/squeue.js';
import { eventLine, outcomeOf, pendingLine, SLURM_FINAL_STATES, type Outcome, type SlurmSide } from './status-view.js';

export type Done = Extract<Outcome, { done: true }>;

export interface FollowConfig {
  jobId: string;
  /** Copy entrypoint.log to stdout once the entrypoint runs. */
  stream: boolean;
  /** Poll bounds in ms. */
  minMs: number;
  maxMs: number;
  /** How long a controller's unasked-for cancel waits for Slurm's final state (NODE_FAIL or not). */
  settleMs: number;
}

export interface FollowState {
  /** The next wait when nothing changes: doubles up to maxMs, back to minMs on news. */
  interval: number;
  /** Timeline events of the followed attempt printed so far. */
  shown: number;
  /** The last pending line shown (a line is shown once). */
  lastPending: string;
  /** "allocated <nodes>" was printed from squeue (the timeline's own line is then skipped). */
  announcedAlloc: boolean;
  /** When squeue was last asked, and what it said (undefined: Slurm has forgotten the job). */
  slurmAskedAt: number;
  slurm: SlurmSide | undefined;
  slurmKnown: boolean;
  /** --requeue: the attempt whose record ended with `requeued`; following goes on with the next one. */
  requeuedAfter?: number;
  /** Until when an unasked-for cancel waits for Slurm's final state. */
  slurmSettleUntil?: number;
  /** entrypoint.log is being copied to stdout. */
  tailing: boolean;
}

export type FollowEffect =
  | { kind: 'update' | 'log' | 'succeed'; line: string }
  /** A plain line on stderr (the spinner is gone once the output streams). */
  | { kind: 'stderr'; line: string }
  | { kind: 'start-tail' | 'stop-tail' };

export type FollowDecision =
  | { kind: 'wait'; ms: number }
  | { kind: 'done'; outcome: Done }
  /** Slurm is done with the job but status.json does not say so: read it once more and ask scontrol why. */
  | { kind: 'slurm-ended' };

export interface FollowObservation {
  now: number;
  /** status.json as read now (undefined before the controller writes it). */
  record: JobStatus | undefined;
  /** squeue's answer when slurmDue said to ask (job undefined: Slurm does not list it). */
  squeue?: { askedAt: number; job: SlurmJob | undefined; position?: { position: number; of: number } };
  /** The user asked raysl to cancel (the job dir's cancel request exists). */
  cancelRequested: boolean;
}

export interface FollowStep {
  state: FollowState;
  effects: FollowEffect[];
  decision: FollowDecision;
}

export function initialFollowState(cfg: FollowConfig): FollowState {
  return {
    interval: cfg.minMs,
    shown: 0,
    lastPending: '',
    announcedAlloc: false,
    slurmAskedAt: 0,
    slurm: undefined,
    slurmKnown: false,
    tailing: false,
  };
}

/** Slurm is done with the job (or has forgotten it). */
function slurmFinal(s: SlurmSide | undefined): boolean {
  return s === undefined || SLURM_FINAL_STATES.includes(s.state);
}

function side(job: SlurmJob | undefined): SlurmSide | undefined {
  return job ? { state: job.state, reason: job.reason, nodelist: job.nodelist } : undefined;
}

/** The record of the attempt being followed: until the next attempt writes its own, a requeued one is old news. */
export function currentRecord(s: FollowState, record: JobStatus | undefined): JobStatus | undefined {
  const next = s.requeuedAfter === undefined || (record !== undefined && (record.attempt ?? 0) > s.requeuedAfter);
  return next ? record : undefined;
}

/**
 * Whether to ask squeue now. It is the expensive probe: before status.json exists it is the only
 * news; after, the controller's record is, and Slurm is only the safety net for a controller that died.
 */
export function slurmDue(s: FollowState, status: JobStatus | undefined, now: number, cfg: FollowConfig): boolean {
  const every = status ? cfg.maxMs : s.interval;
  return !s.slurmKnown || now - s.slurmAskedAt >= every || (status === undefined && s.interval === cfg.minMs);
}

/** Queue news before the controller writes status.json: the pending reason, then the allocation. */
function queueNews(
  st: FollowState,
  squeue: NonNullable<FollowObservation['squeue']>,
  status: JobStatus | undefined,
  effects: FollowEffect[],
): void {
  const j = squeue.job;
  st.slurmAskedAt = squeue.askedAt;
  st.slurm = side(j);
  st.slurmKnown = true;
  if (j?.state === 'PENDING' && !status) {
    const line = pendingLine(j.reason, squeue.position, j.partition);
    if (line !== st.lastPending) effects.push({ kind: 'update', line });
    st.lastPending = line;
  } else if (j && !status && !st.announcedAlloc && j.nodelist !== '' && j.state !== 'PENDING') {
    st.announcedAlloc = true;
    effects.push(
      { kind: 'log', line: `allocated ${j.nodelist}` },
      { kind: 'update', line: 'starting the raysl controller' },
    );
  }
}

/** The timeline events not shown yet; true when there was any. */
function timelineNews(st: FollowState, status: JobStatus, cfg: FollowConfig, effects: FollowEffect[]): boolean {
  let changed = false;
  for (; st.shown < status.timeline.length; st.shown++) {
    const ev = status.timeline[st.shown]!;
    changed = true;
    if (ev.phase === 'allocated' && st.announcedAlloc) continue;
    if (ev.phase === 'entrypoint-started') {
      effects.push({ kind: 'succeed', line: `running on ${status.joined.length} node(s); output follows` });
      if (cfg.stream && !st.tailing) {
        effects.push({ kind: 'start-tail' });
        st.tailing = true;
      }
      continue;
    }
    if (ev.phase === 'torn-down' || ev.phase === 'entrypoint-exited' || ev.phase === 'error') continue;
    // once the output streams the spinner is gone: later events (a lost node) are plain lines
    effects.push({ kind: st.tailing ? 'stderr' : 'log', line: eventLine(status, ev) });
    if (ev.phase === 'agents-launched') effects.push({ kind: 'update', line: 'waiting for the agents to join' });
  }
  return changed;
}

/** One turn of following: what the observation changes, what to print, and what to do next. */
export function followStep(s: FollowState, obs: FollowObservation, cfg: FollowConfig): FollowStep {
  const st: FollowState = { ...s };
  const effects: FollowEffect[] = [];
  const status = currentRecord(st, obs.record);
  if (st.requeuedAfter !== undefined && status !== undefined) {
    delete st.requeuedAfter;
    st.shown = 0;
  }
  if (obs.squeue) queueNews(st, obs.squeue, status, effects);
  const changed = status ? timelineNews(st, status, cfg, effects) : false;
  if (status && isFinal(status.state) && status.exitCode !== undefined) {
    if (st.tailing) effects.push({ kind: 'stop-tail' });
    st.tailing = false;
    const last = status.timeline.at(-1);
    // a cancel nobody asked raysl for may be Slurm ending the job for a node failure (its TERM
    // came first): Slurm's final state says which, so wait for it (bounded) before the code
    const unasked =
      status.state === 'cancelled' && st.slurm !== undefined && !slurmFinal(st.slurm) && !obs.cancelRequested;
    if (unasked && (st.slurmSettleUntil ??= obs.now + cfg.settleMs) > obs.now)
      return { state: st, effects, decision: { kind: 'wait', ms: cfg.maxMs } };
    if (!(last?.phase === 'requeued' && !slurmFinal(st.slurm)))
      return {
        state: st,
        effects,
        decision: { kind: 'done', outcome: outcomeOf(cfg.jobId, status, st.slurm) as Done },
      };
    const attempt = status.attempt ?? 0;
    st.requeuedAfter = attempt;
    st.announcedAlloc = false;
    st.lastPending = '';
    effects.push(
      {
        kind: 'stderr',
        line: `attempt ${attempt} ended ${status.state} (exit ${status.exitCode}); ${last.detail ?? 'requeued'}: following attempt ${attempt + 1} once Slurm starts it`,
      },
      { kind: 'update', line: `waiting for Slurm to start attempt ${attempt + 1}` },
    );
  }
  if (slurmFinal(st.slurm)) return { state: st, effects, decision: { kind: 'slurm-ended' } };
  st.interval = changed ? cfg.minMs : Math.min(st.interval * 2, cfg.maxMs);
  return { state: st, effects, decision: { kind: 'wait', ms: st.interval } };
}

/** The outcome once Slurm ended the job: status.json read once more, and scontrol's ending when it answered. */
export function endedOutcome(
  jobId: string,
  record: JobStatus | undefined,
  ending: { state: string; reason: string; exitCode: string } | undefined,
  slurm: SlurmSide | undefined,
): Done {
  return outcomeOf(jobId, record, ending ? { ...ending, nodelist: slurm?.nodelist ?? '' } : slurm) as Done;
}
