/**
 * Facts about processes and process groups, read from /proc (Linux) and kill(pid, 0). A group has
 * no exit event, so waiting for one to empty is a fast poll with backoff and a deadline.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return send(-pgid, signal);
}

export function groupAlive(pgid: number): boolean {
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
    const stat = statOf(Number(e));
    if (stat !== undefined && stat.state !== 'Z' && stat.pgrp === pgid) out.push(Number(e));
  }
  return out;
}

function statOf(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of comm: state ppid pgrp ...; comm may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', pgrp: Number(rest[2]) };
  } catch {
    return undefined; // gone, or raced with an exit
  }
}

/** A group with a live member; kill(-pgid, 0) alone also counts orphaned zombies nobody reaped yet. */
export function groupLive(pgid: number): boolean {
  return groupAlive(pgid) && groupMembers(pgid).length > 0;
}

/** Polls with backoff until `alive()` is false or `ms` pass; true when it went. */
export async function pollGone(alive: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  let step = 5;
  while (alive()) {
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, Math.min(step, Math.max(1, end - Date.now()))));
    step = Math.min(step * 2, 100);
  }
  return true;
}

/** Polls fast with backoff until the group is empty or the deadline passes (a group has no exit event). */
export function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  return pollGone(() => groupLive(pgid), ms);
}

export function processAlive(pid: number): boolean {
  const s = statOf(pid);
  return s !== undefined && s.state !== 'Z';
}
