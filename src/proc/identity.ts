/**
 * Is a recorded pid still the same process? Pids are reused, so the controller records its start
 * time (field 22 of /proc/<pid>/stat, clock ticks since boot) and its host next to its pid.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Start time in clock ticks since boot; undefined when /proc has no such (live) process. */
export function processStartTicks(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start past the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); a zombie has exited already
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  const ticks = Number(rest[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
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
  if (processStartTicks(process.pid) === undefined) return undefined;
  const ticks = processStartTicks(id.pid);
  if (ticks === undefined) return false;
  return id.startTicks === undefined || id.startTicks === ticks;
}
