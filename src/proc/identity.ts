/**
 * Is a pid alive, and is it still the same process? The one answer for every caller: a zombie
 * (state Z, exited but not yet reaped) or a dead task (X) is dead, though kill(pid, 0) still
 * succeeds on it; and pids are reused, so whoever records a pid records its start time too (field
 * 22 of /proc/<pid>/stat, clock ticks since boot) and its host, and a different start time means
 * another process under the same number.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** The fields of /proc/<pid>/stat raysl reads. */
export interface ProcStat {
  /** R, S, D, T, Z (zombie), X (dead), ... */
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot. */
  startTicks: number;
}

/** /proc/<pid>/stat parsed; undefined when there is no such process (or no /proc). */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or raced with an exit
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start past the last ')';
  // rest[0] is field 3 (state), rest[2] field 5 (pgrp), rest[19] field 22 (starttime)
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', pgrp: Number(rest[2]), startTicks: Number(rest[19]) };
}

/** Exited already, just not reaped by its parent (kill(pid, 0) still succeeds on it). */
export function exitedState(state: string): boolean {
  return state === 'Z' || state === 'X';
}

let procReadable: boolean | undefined;

/** Does this machine have a /proc to read (Linux)? Elsewhere only kill(pid, 0) can tell. */
function haveProc(): boolean {
  procReadable ??= readProcStat(process.pid) !== undefined;
  return procReadable;
}

/**
 * Is `pid` a live process on this host, and (when `startTicks` was recorded with the pid) the same
 * one? Zombies are dead. Without /proc, falls back to kill(pid, 0) (EPERM: alive, someone else's).
 */
export function processAlive(pid: number, startTicks?: number): boolean {
  if (!haveProc()) return killZeroAlive(pid);
  const stat = readProcStat(pid);
  if (stat === undefined || exitedState(stat.state)) return false;
  return startTicks === undefined || stat.startTicks === startTicks;
}

function killZeroAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time in clock ticks since boot; undefined when /proc has no such (live) process. */
export function processStartTicks(pid: number): number | undefined {
  const stat = readProcStat(pid);
  if (stat === undefined || exitedState(stat.state)) return undefined;
  return Number.isFinite(stat.startTicks) ? stat.startTicks : undefined;
}

export interface ProcessIdentity {
  pid: number;
  host: string;
  startTicks?: number;
}

export function selfIdentity(): ProcessIdentity {
  const startTicks = processStartTicks(process.pid);
  return { pid: process.pid, host: hostname(), ...(startTicks !== undefined ? { startTicks } : {}) };
}

/** true/false when this host can tell, undefined when it cannot (another host, or no /proc here). */
export function stillRunning(id: { pid?: number; host?: string; startTicks?: number }): boolean | undefined {
  if (id.pid === undefined) return undefined;
  if (id.host !== undefined && id.host !== hostname()) return undefined;
  if (!haveProc()) return undefined;
  return processAlive(id.pid, id.startTicks);
}
