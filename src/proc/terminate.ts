/**
 * Bounded termination of a process group: TERM, wait for the exit event up to a grace period,
 * then KILL (STYLE.md principle 8: wait on events with a deadline, never a fixed sleep).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Resolves after `ms` or when `signal` aborts, whichever is first; the timer never holds the loop open. */
export function deadline(ms: number): { promise: Promise<'timeout'>; cancel: () => void } {
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

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Members of a process group still alive (zombies excluded: they are dead, just not reaped), from /proc (Linux). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the ")" of comm: state ppid pgrp ...; comm may contain spaces.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] !== 'Z' && Number(rest[2]) === pgid) out.push(Number(e));
    } catch {
      // raced with an exit
    }
  }
  return out;
}

/** A group with a live member; kill(-pgid, 0) alone also counts orphaned zombies nobody reaped yet. */
function groupLive(pgid: number): boolean {
  return groupAlive(pgid) && groupMembers(pgid).length > 0;
}

/** Polls fast with backoff until the group is empty or the deadline passes (a group has no exit event). */
export async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  let step = 5;
  while (groupLive(pgid)) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, Math.min(step, Math.max(1, end - Date.now()))));
    step = Math.min(step * 2, 100);
  }
  return true;
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
 * Stops a detached child's whole process group: TERM, grace, KILL; then makes sure no member of
 * the group outlives the leader (children the leader left behind get the same treatment).
 */
export async function terminateGroup(child: ChildProcess, graceMs: number): Promise<ExitInfo> {
  const pgid = child.pid;
  const exited = exitOf(child);
  if (pgid === undefined) return exited;
  signalGroup(pgid, 'SIGTERM');
  if ((await within(exited, graceMs)) === 'timeout') signalGroup(pgid, 'SIGKILL');
  const info = await exited;
  await reapGroup(pgid, graceMs);
  return info;
}

/** After the leader exited: TERM whatever is left in its group, KILL it after the grace. */
export async function reapGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  if (!(await waitGroupGone(pgid, graceMs))) {
    signalGroup(pgid, 'SIGKILL');
    await waitGroupGone(pgid, 1000);
  }
}
