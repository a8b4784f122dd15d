/**
 * Termination of a process or a process group, written once. An escalation is data: which signal,
 * to whom (the leader alone or its whole group), and how long to wait for that addressee to be gone
 * before the next step. Waits are on the exit event where there is one; a group has none, so its
 * emptiness is polled fast with backoff and a deadline (STYLE.md principle 8).
 */
import type { ChildProcess } from 'node:child_process';
import { InternalError } from '../core/errors.js';
import { GONE_PACE, groupLive, groupMembers, send, signalGroup, waitGroupGone } from './group.js';
import { processAlive } from './identity.js';
import { waitFor } from './poll.js';

/** Resolves after `ms`; the timer never holds the loop open. */
function deadline(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Races `p` against a deadline; 'timeout' when the deadline won. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const d = deadline(ms);
  try {
    return await Promise.race([p, d.promise]);
  } finally {
    d.cancel();
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A promise for a child's exit that is already settled if it has exited. */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // a spawn failure emits 'error' and never 'exit'
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
}

/**
 * What to stop:
 * - `process`: one child that does not lead a group of its own (srun: its group is the controller's);
 * - `group`: a detached child leading its own group (kill(-pid) reaches the group);
 * - `pgid`: a group known only by its number (no exit event: everything is polled).
 */
export type TerminationTarget = { process: ChildProcess } | { group: ChildProcess } | { pgid: number };

export interface EscalationStep {
  signal: NodeJS.Signals;
  /** The leader alone, or the whole group (the default for group and pgid targets). */
  to?: 'leader' | 'group';
  /** How long to wait for the addressee to be gone before the next step. */
  waitMs: number;
}
export type Escalation = readonly EscalationStep[];

export interface StepTaken {
  signal: NodeJS.Signals;
  to: 'leader' | 'group';
  /** Live members of the group when it was signalled (group steps only). */
  members?: number;
  /** Whether the addressee was gone within the step's wait. */
  outcome: 'gone' | 'timeout';
}

export interface TerminationReport {
  /** The steps taken; the escalation ends early once the whole target is gone. */
  steps: StepTaken[];
  /** Nothing of the target is left (leader exited, and its group, if it has one, is empty). */
  gone: boolean;
  /** The leader's exit, when the target is a child that has exited. */
  exit?: ExitInfo;
}

/** How long a KILL may take to show: the kernel acts at once, unless a process sits in uninterruptible I/O. */
export const KILL_WAIT_MS = 1000;

/** TERM, wait up to the grace, KILL: the plain escalation for a child or a group. */
export function termThenKill(graceMs: number): Escalation {
  return [
    { signal: 'SIGTERM', waitMs: graceMs },
    { signal: 'SIGKILL', waitMs: KILL_WAIT_MS },
  ];
}

interface Resolved {
  pid: number;
  pgid: number | undefined;
  exited: Promise<ExitInfo> | undefined;
}

function resolve(target: TerminationTarget): Resolved | undefined {
  if ('pgid' in target) return { pid: target.pgid, pgid: target.pgid, exited: undefined };
  const child = 'group' in target ? target.group : target.process;
  if (child.pid === undefined) return undefined; // never spawned: nothing to signal
  return { pid: child.pid, pgid: 'group' in target ? child.pid : undefined, exited: exitOf(child) };
}

/** Runs `escalation` against `target` in order, ending early once nothing of the target is left. */
export async function terminate(target: TerminationTarget, escalation: Escalation): Promise<TerminationReport> {
  const t = resolve(target);
  if (t === undefined) return { steps: [], gone: true };
  const steps: StepTaken[] = [];
  for (const step of escalation) {
    if (await targetGone(t)) break;
    steps.push(await takeStep(t, step));
  }
  const gone = await targetGone(t);
  const exit = t.exited === undefined ? 'timeout' : await within(t.exited, 0);
  return { steps, gone, ...(exit === 'timeout' ? {} : { exit }) };
}

async function takeStep(t: Resolved, step: EscalationStep): Promise<StepTaken> {
  const to = step.to ?? (t.pgid === undefined ? 'leader' : 'group');
  if (to === 'leader') {
    const sent = send(t.pid, step.signal);
    const gone = !sent || (await leaderGoneWithin(t, step.waitMs));
    return { signal: step.signal, to, outcome: gone ? 'gone' : 'timeout' };
  }
  if (t.pgid === undefined) {
    throw new InternalError(`cannot signal the group of pid ${t.pid}: it leads no group of its own`, {
      hint: 'this is a bug in raysl',
    });
  }
  const members = groupMembers(t.pgid).length;
  signalGroup(t.pgid, step.signal);
  const end = Date.now() + step.waitMs;
  // the leader's exit is an event: wait on it first, then poll for whatever it left behind
  const gone = (await leaderGoneWithin(t, step.waitMs)) && (await waitGroupGone(t.pgid, Math.max(0, end - Date.now())));
  return { signal: step.signal, to, members, outcome: gone ? 'gone' : 'timeout' };
}

async function leaderGoneWithin(t: Resolved, ms: number): Promise<boolean> {
  if (t.exited !== undefined) return (await within(t.exited, ms)) !== 'timeout';
  return waitFor(() => !processAlive(t.pid), { timeoutMs: ms, ...GONE_PACE });
}

async function targetGone(t: Resolved): Promise<boolean> {
  if (t.pgid === undefined || t.exited !== undefined) {
    if (!(await leaderGoneWithin(t, 0))) return false;
  }
  return t.pgid === undefined || !groupLive(t.pgid);
}

/**
 * Stops a detached child's whole process group: TERM, grace, KILL; no member of the group outlives
 * the leader. Resolves with the leader's exit.
 */
export async function terminateGroup(child: ChildProcess, graceMs: number): Promise<ExitInfo> {
  const exited = exitOf(child);
  await terminate({ group: child }, termThenKill(graceMs));
  return exited;
}

/** The same for a group known only by its number (an orphaned entrypoint's group, say). */
export function terminatePgid(pgid: number, graceMs: number): Promise<TerminationReport> {
  return terminate({ pgid }, termThenKill(graceMs));
}
