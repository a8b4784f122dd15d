/**
 * status.json: the job's live record, written by the controller (atomically: tmp + rename) and read
 * by `raysl status | logs | submit --follow`. Pure helpers only; every update returns a new object.
 *
 * Stable contract (version 1): readers must ignore unknown fields; new fields are only ever added.
 */
import { InternalError } from './errors.js';
import type { PortBlock, RuntimeName, LauncherName } from './types.js';

const STATUS_VERSION = 1 as const;

/**
 * starting -> forming (agents launched) -> running (entrypoint started) -> tearing-down -> a final
 * state: succeeded (entrypoint exit 0), failed (anything else), cancelled (a signal stopped it).
 */
export type JobState =
  | 'starting'
  | 'forming'
  | 'running'
  | 'tearing-down'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'preempted';

export type PhaseName =
  | 'allocated'
  | 'agents-launched'
  | 'node-joined'
  | 'node-failed'
  | 'ready'
  | 'entrypoint-started'
  | 'entrypoint-exited'
  /** `raysl up`: the cluster formed and waits for `raysl exec` until it is stopped. */
  | 'holding'
  | 'exec-started'
  | 'exec-exited'
  | 'node-lost'
  | 'signal'
  | 'preempt-warning'
  | 'requeued'
  /** --max-nodes: a decision of the autoscaler (grow, shrink, or why work waits), its reason in detail. */
  | 'autoscale'
  | 'error'
  | 'torn-down'
  /** Elastic clusters: a satellite's changes of state (detail: its id, Slurm id, nodes, why). */
  | 'satellite-queued'
  | 'satellite-joining'
  | 'satellite-joined'
  | 'satellite-draining'
  | 'satellite-ended'
  | 'satellite-cancelled'
  | 'satellite-failed'
  | 'satellite-lost';

export interface PhaseEvent {
  phase: PhaseName;
  /** ISO time. */
  at: string;
  /** Milliseconds since the controller started. */
  t: number;
  node?: string;
  code?: number;
  detail?: string;
}

export type NodeState = 'pending' | 'joined' | 'draining' | 'failed' | 'lost' | 'stopped';

export interface StatusNode {
  name: string;
  address: string;
  role: 'head' | 'worker';
  state: NodeState;
  cpus?: number;
  gpus?: number;
  /** Agent log file (absolute). */
  log: string;
  /** Agent pid as the agent reported it (local launcher: a process on this machine). */
  pid?: number;
  /** Why it failed or was lost. */
  reason?: string;
  /** The satellite (s1, s2, ...) it came with; absent for a node of the job's own allocation. */
  satellite?: string;
}

/** One satellite of an elastic cluster as status.json keeps it (protocol/elastic.ts SatelliteInfo). */
export interface SatelliteStatus {
  id: string;
  slurmJobId?: string;
  state: 'queued' | 'joining' | 'joined' | 'draining' | 'ended' | 'cancelled' | 'failed' | 'lost';
  requested: number;
  nodes: string[];
  joined: string[];
  submittedAt: string;
  startedAt?: string;
  joinedAt?: string;
  endedAt?: string;
  reason: string;
  why?: string;
  script?: string;
}

export interface JobStatus {
  version: typeof STATUS_VERSION;
  jobId: string;
  runtime: RuntimeName;
  launcher: LauncherName;
  state: JobState;
  startedAt: string;
  updatedAt: string;
  head: string;
  minNodes: number;
  /** host:port of the control server once it listens. */
  controller?: string;
  controllerPid?: number;
  /** Host and start time (clock ticks since boot, /proc/<pid>/stat) of that pid: a reused pid is not the controller. */
  controllerHost?: string;
  controllerStartTicks?: number;
  portBlock?: PortBlock;
  nodes: StatusNode[];
  /** Names of joined nodes, in join order. */
  joined: string[];
  exitCode?: number;
  error?: { message: string; hint?: string };
  timeline: PhaseEvent[];
  /** Slurm's restart count of this run (SLURM_RESTART_COUNT; 0 for the first). */
  attempt?: number;
  /** The earlier attempts of a requeued job, oldest first; their files are in attempt-<k>/. */
  attempts?: AttemptSummary[];
  /** Elastic clusters: every satellite job that added nodes (raysl grow), in submit order. */
  satellites?: SatelliteStatus[];
}

/** One earlier run of a requeued job, as its own status.json ended. */
export interface AttemptSummary {
  attempt: number;
  state: JobState;
  exitCode?: number;
  startedAt: string;
  endedAt: string;
  /** Why it ended, e.g. the preempt-warning or error detail. */
  reason?: string;
  /** The directory that holds its logs and status.json. */
  dir: string;
}

export interface NewStatus {
  jobId: string;
  runtime: RuntimeName;
  launcher: LauncherName;
  nodes: Array<{ name: string; address: string; role: 'head' | 'worker'; log: string }>;
  minNodes: number;
  startedAtMs: number;
  controllerPid?: number;
  controllerHost?: string;
  controllerStartTicks?: number;
}

export function initialStatus(n: NewStatus): JobStatus {
  const at = new Date(n.startedAtMs).toISOString();
  const head = n.nodes.find((x) => x.role === 'head')?.name ?? n.nodes[0]?.name ?? '';
  return {
    version: STATUS_VERSION,
    jobId: n.jobId,
    runtime: n.runtime,
    launcher: n.launcher,
    state: 'starting',
    startedAt: at,
    updatedAt: at,
    head,
    minNodes: n.minNodes,
    ...(n.controllerPid !== undefined ? { controllerPid: n.controllerPid } : {}),
    ...(n.controllerHost !== undefined ? { controllerHost: n.controllerHost } : {}),
    ...(n.controllerStartTicks !== undefined ? { controllerStartTicks: n.controllerStartTicks } : {}),
    nodes: n.nodes.map((x) => ({ ...x, state: 'pending' as const })),
    joined: [],
    timeline: [{ phase: 'allocated', at, t: 0 }],
  };
}

/** Appends one timeline event (and stamps updatedAt). */
export function withPhase(s: JobStatus, nowMs: number, ev: Omit<PhaseEvent, 'at' | 't'>): JobStatus {
  const at = new Date(nowMs).toISOString();
  const t = Math.max(0, nowMs - Date.parse(s.startedAt));
  return { ...s, updatedAt: at, timeline: [...s.timeline, { ...ev, at, t }] };
}

export function withState(s: JobStatus, state: JobState): JobStatus {
  return { ...s, state };
}

export function withNode(s: JobStatus, name: string, patch: Partial<Omit<StatusNode, 'name'>>): JobStatus {
  const nodes = s.nodes.map((n) => (n.name === name ? { ...n, ...patch } : n));
  const joined = patch.state === 'joined' && !s.joined.includes(name) ? [...s.joined, name] : s.joined;
  return { ...s, nodes, joined };
}

export function isFinal(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'preempted';
}

/** Reads status.json text back; throws InternalError on a file that is not ours. */
export function parseStatus(text: string): JobStatus {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InternalError('status.json is not valid JSON', {
      hint: 'the file may have been edited by hand; it is rewritten by the controller',
      cause: err,
    });
  }
  const s = data as Partial<JobStatus>;
  if (
    typeof s !== 'object' ||
    s === null ||
    s.version !== STATUS_VERSION ||
    typeof s.jobId !== 'string' ||
    !Array.isArray(s.timeline) ||
    !Array.isArray(s.nodes)
  ) {
    throw new InternalError(`status.json has an unknown layout (version ${String(s?.version)})`, {
      hint: `this raysl reads status version ${STATUS_VERSION}; use the raysl that started the job`,
    });
  }
  return s as JobStatus;
}

/** Milliseconds from the first event of `from` to the first event of `to`, if both happened. */
export function phaseDelta(s: JobStatus, from: PhaseName, to: PhaseName): number | undefined {
  const a = s.timeline.find((e) => e.phase === from);
  const b = s.timeline.find((e) => e.phase === to);
  return a && b ? b.t - a.t : undefined;
}
