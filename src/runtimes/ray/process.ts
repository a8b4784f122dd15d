/**
 * The `ray start --block` process and its process group. Ray's daemons (gcs_server, raylet,
 * dashboard, workers) are children of that process and share its group, so stopping the job's Ray
 * means KILL to the group (stopGroup). Never `ray stop`: it matches
 * process names and kills every Ray on the node, other jobs' and other users' included
 * (ray-project/ray#12264, #6135, #43449).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { terminate, type Escalation } from '../../proc/terminate.js';

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

/**
 * How long `ray start` may take to stop its own daemons before the rest of its group is KILLed: 0,
 * none. Measured with Ray 2.60 (RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0, an idle head, load 8-12 on
 * the 2-core test host): after TERM the leader needs 1.9 s to stop its daemons one by one
 * (node.py `kill_all_processes`), and a 1 s grace (the earlier default) expired in every run seen,
 * so it only delayed the KILL. KILL to the group leaves no live process 80 ms later, and nothing
 * outside the temp dir (the object store's /dev/shm file is unlinked at creation; raysl removes the
 * temp dir and sweeps the workers, which run in groups of their own, by their mark).
 */
const RAY_LEADER_GRACE_MS = 0;

/**
 * With a leader grace: TERM to the `ray start --block` leader alone (Ray's handler drains the node
 * and stops its daemons itself; TERM to the whole group instead leaves gcs_server and raylet waiting
 * on each other for seconds, 6.7 s measured with Ray 2.60), wait for it up to min(grace, leader
 * grace), then KILL whatever is left of the group and wait until it is empty. Without (the default):
 * KILL the group at once.
 */
export function rayStopEscalation(graceMs: number, leaderGraceMs = RAY_LEADER_GRACE_MS): Escalation {
  const kill = { signal: 'SIGKILL', to: 'group', waitMs: graceMs } as const;
  if (leaderGraceMs <= 0) return [kill];
  return [{ signal: 'SIGTERM', to: 'leader', waitMs: Math.min(graceMs, leaderGraceMs) }, kill];
}

/** Stops the group (rayStopEscalation) and says how it went, for the agent log. */
export async function stopGroup(
  group: SpawnedGroup,
  graceMs: number,
  leaderGraceMs = RAY_LEADER_GRACE_MS,
): Promise<string> {
  if (group.pid <= 0) return 'never started';
  const report = await terminate({ group: group.child }, rayStopEscalation(graceMs, leaderGraceMs));
  const leaderTimedOut = report.steps[0]?.to === 'leader' && report.steps[0].outcome === 'timeout';
  const killed = report.steps.find((s) => s.signal === 'SIGKILL')?.members ?? 0;
  const leader =
    report.steps[0]?.to === 'leader'
      ? `${leaderTimedOut ? '`ray start` did not exit in time' : '`ray start` exited'}; `
      : '';
  return `${leader}${killed} process(es) of its group KILLed${report.gone ? '' : '; some still there after the grace'}`;
}
