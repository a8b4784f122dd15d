/**
 * Facts about processes and process groups, read from /proc (Linux) and kill(pid, 0). A group has
 * no exit event, so waiting for one to empty is a fast poll with backoff and a deadline.
 */
import { readdirSync } from 'node:fs';
import { exitedState, readProcStat } from './identity.js';
import { waitFor } from './poll.js';

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return send(-pgid, signal);
}

function groupAlive(pgid: number): boolean {
  return send(-pgid, 0);
}

export function send(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // ESRCH: already gone
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
    const stat = readProcStat(Number(e));
    if (stat !== undefined && !exitedState(stat.state) && stat.pgrp === pgid) out.push(Number(e));
  }
  return out;
}

/** A group with a live member; kill(-pgid, 0) alone also counts orphaned zombies nobody reaped yet. */
export function groupLive(pgid: number): boolean {
  return groupAlive(pgid) && groupMembers(pgid).length > 0;
}

/** Polls fast with backoff until the group is empty or the deadline passes (a group has no exit event). */
export function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  return waitFor(() => !groupLive(pgid), { timeoutMs: ms, ...GONE_PACE });
}

/** The pace of a wait for processes to go: they usually do within milliseconds of a signal. */
export const GONE_PACE = { intervalMs: 5, maxIntervalMs: 100 } as const;
