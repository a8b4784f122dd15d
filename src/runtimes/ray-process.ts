/**
 * The `ray start --block` process and its process group. Ray's daemons (gcs_server, raylet,
 * dashboard, workers) are children of that process and share its group, so stopping the job's Ray
 * means TERM to the group, a grace period, then KILL to the group. Never `ray stop`: it matches
 * process names and kills every Ray on the node, other jobs' and other users' included
 * (ray-project/ray#12264, #6135, #43449).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface GroupExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedGroup {
  pid: number;
  child: ChildProcess;
  exit: Promise<GroupExit>;
  /** Every stdout/stderr line, as it arrives. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  /** Last lines of output, for error messages. */
  tail(): string[];
}

const TAIL_LINES = 30;

export function spawnGroup(bin: string, argv: string[], env: NodeJS.ProcessEnv, cwd?: string): SpawnedGroup {
  // detached: the child leads a new process group we can signal as a whole (kill(-pid)).
  const child = spawn(bin, argv, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const listeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = [];
  const lines: string[] = [];
  const attach = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr'): void => {
    if (!stream) return;
    let buf = '';
    stream.setEncoding('utf8');
    const emit = (line: string): void => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      for (const l of listeners) l(line, name);
    };
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        emit(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    stream.on('end', () => {
      if (buf) emit(buf);
      buf = '';
    });
  };
  attach(child.stdout, 'stdout');
  attach(child.stderr, 'stderr');
  const exit = new Promise<GroupExit>((resolve) => {
    child.on('error', () => resolve({ code: 127, signal: null }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid ?? -1,
    child,
    exit,
    onLine: (l) => listeners.push(l),
    tail: () => [...lines],
  };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    // ESRCH: the group is already gone, which is what we want.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Members of a process group still alive, from /proc (Linux). */
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

function waitOrTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * TERM the group, wait up to graceMs for the leader to exit, KILL whatever of the group is left.
 * The group outlives its leader when a daemon ignores TERM, so the KILL goes to the group even
 * when the leader exited in time.
 */
export async function stopGroup(group: SpawnedGroup, graceMs: number): Promise<void> {
  const pgid = group.pid;
  if (pgid <= 0) return;
  signalGroup(pgid, 'SIGTERM');
  const r = await waitOrTimeout(group.exit, graceMs);
  if (r === 'timeout' || groupMembers(pgid).length > 0) signalGroup(pgid, 'SIGKILL');
  await group.exit;
}
