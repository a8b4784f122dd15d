/**
 * Pure views of a job: status.json (the controller's record) joined with Slurm's state. Collect in
 * jobs.ts, decide and format here, print in the commands (shadcn's info: collect, then print).
 */
import {
  ClusterFormError,
  ExitCode,
  InternalError,
  NodeLostError,
  PreemptedError,
  type RayslError,
  SlurmError,
  UsageError,
} from '../core/errors.js';
import { formatBlock } from '../core/ports.js';
import { SLURM_FINAL_STATES, type Reconciled } from '../core/reconcile.js';
import { isFinal, type JobStatus, type PhaseEvent } from '../core/status.js';

/** What Slurm says, reduced to what the views need. */
export interface SlurmSide {
  state: string;
  reason: string;
  nodelist: string;
  /** "exit:signal" from scontrol, when known. */
  exitCode?: string;
}

export { SLURM_FINAL_STATES };

/** One line per timeline event, for --follow and `status` (joins counted against all nodes). */
export function eventLine(s: JobStatus, ev: PhaseEvent): string {
  const node = ev.node ? s.nodes.find((n) => n.name === ev.node) : undefined;
  // the job's own allocation; a satellite's nodes are counted apart (they join later, and leave)
  const own = s.nodes.filter((n) => n.satellite === undefined);
  switch (ev.phase) {
    case 'allocated':
      return `allocated ${own.map((n) => n.name).join(',')}; head ${s.head}`;
    case 'agents-launched':
      return `agents launched on ${own.length} node(s)`;
    case 'node-joined': {
      const res = node?.cpus !== undefined ? ` (${node.cpus} CPU, ${node.gpus ?? 0} GPU)` : '';
      if (node?.satellite !== undefined) return `${ev.node} joined${res} from satellite ${node.satellite}`;
      const k = s.timeline.filter(
        (e) => e.phase === 'node-joined' && e.t <= ev.t && own.some((n) => n.name === e.node),
      ).length;
      return `${ev.node} joined${res} ${k}/${own.length}`;
    }
    case 'node-failed':
      return `${ev.node} failed: ${ev.detail ?? 'no reason given'}`;
    case 'ready':
      return `cluster ready: ${s.joined.filter((n) => own.some((o) => o.name === n)).length}/${own.length} nodes in ${secs(ev.t)}`;
    case 'entrypoint-started':
      return 'entrypoint running';
    case 'entrypoint-exited':
      return `entrypoint exited with code ${ev.code ?? '?'}`;
    case 'holding':
      return 'ready, holding for exec (raysl exec <id> -- <command>; raysl down <id> ends it)';
    case 'exec-started':
      return `${ev.detail ?? 'exec'} started`;
    case 'exec-exited':
      return `${ev.detail ?? 'exec'} exited with code ${ev.code ?? '?'}`;
    case 'node-lost':
      return `${ev.node} lost: ${ev.detail ?? 'no reason given'}`;
    case 'signal':
      return `signal: ${ev.detail ?? ''}`.trim();
    case 'preempt-warning':
      return `preempted / time limit warning: ${ev.detail ?? ''}`.trim();
    case 'requeued':
      return ev.detail ?? 'requeued';
    case 'autoscale':
      return `autoscale: ${ev.detail ?? ''}`.trim();
    case 'error':
      return `error: ${ev.detail ?? ''}`.trim();
    case 'torn-down':
      return `torn down; exit ${ev.code ?? '?'}`;
    case 'satellite-queued':
    case 'satellite-joining':
    case 'satellite-joined':
    case 'satellite-draining':
    case 'satellite-ended':
    case 'satellite-cancelled':
    case 'satellite-failed':
    case 'satellite-lost':
      return `satellite ${ev.phase.slice('satellite-'.length)}: ${ev.detail ?? ''}`.trim();
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

/** Pending line: "pending (Resources), 2/3 in partition debug". */
export function pendingLine(reason: string, pos?: { position: number; of: number }, partition?: string): string {
  const where = pos ? `, ${pos.position}/${pos.of} in the queue${partition ? ` of partition ${partition}` : ''}` : '';
  // Slurm says "None" in the instant between submission and its first scheduling pass
  const why = reason && reason !== 'None' ? ` (${reason})` : '';
  return `pending${why}${where}`;
}

export type Outcome = { done: false } | { done: true; code: number; error?: RayslError; summary: string };

/** The error class that carries a controller exit code, so the CLI exits with the same code. */
function errorForCode(code: number, message: string, hint: string | undefined): RayslError {
  const o = hint !== undefined ? { hint } : {};
  switch (code) {
    case 2:
      return new UsageError(message, o);
    case 3:
      return new SlurmError(message, o);
    case 4:
      return new ClusterFormError(message, o);
    case 5:
      return new NodeLostError(message, o);
    case 6:
      return new PreemptedError(message, o);
    default:
      return new InternalError(message, o);
  }
}

/**
 * Is the job over, and with which exit code? The controller's record wins when it is final (the
 * entrypoint's code, or the controller's own 4/5/70). If Slurm ended the job first (cancelled while
 * pending, node failure, the controller killed), the answer is 3 with Slurm's state and reason.
 */
export function outcomeOf(jobId: string, status: JobStatus | undefined, slurm: SlurmSide | undefined): Outcome {
  // a node failure is 5, whichever reached the controller first: Slurm's stop (it would record a
  // cancel, 143), the lost agent (5), or nothing (Slurm killed it)
  if (slurm?.state === 'NODE_FAIL' && status?.exitCode !== ExitCode.nodeLost) {
    const recorded = status
      ? isFinal(status.state)
        ? `; the controller recorded ${status.state}${status.exitCode !== undefined ? ` (exit ${status.exitCode})` : ''}`
        : ` while the controller was ${status.state}`
      : ' before the raysl controller started';
    const message = `job ${jobId}: a node failed: Slurm ended the job NODE_FAIL${slurm.reason && slurm.reason !== 'None' ? ` (reason: ${slurm.reason})` : ''}${recorded}`;
    const error = new NodeLostError(message, {
      hint: `which node: sinfo -R; the controller's log: raysl logs ${jobId} --controller; submit with --requeue to run it again after a node failure`,
    });
    return { done: true, code: ExitCode.nodeLost, error, summary: message };
  }
  if (status && isFinal(status.state) && status.exitCode !== undefined) {
    const code = status.exitCode;
    if (status.error)
      return {
        done: true,
        code,
        error: errorForCode(
          code,
          status.error.message,
          status.error.hint ?? `read the controller log: raysl logs ${jobId} --controller`,
        ),
        summary: `job ${jobId} ${status.state}: ${status.error.message}`,
      };
    return { done: true, code, summary: `job ${jobId} ${status.state} (exit ${code})` };
  }
  const ended = slurm === undefined || SLURM_FINAL_STATES.includes(slurm.state);
  if (!ended) return { done: false };
  const said = slurm
    ? `${slurm.state}${slurm.reason && slurm.reason !== 'None' ? ` (reason: ${slurm.reason})` : ''}`
    : 'unknown to Slurm (finished and purged, or never existed)';
  const when = status ? `while the controller was ${status.state}` : 'before the raysl controller started';
  const message = `job ${jobId} ended ${said} ${when}`;
  const hint = status
    ? `read the controller log (${'raysl logs ' + jobId + ' --controller'}) and the batch output`
    : slurm?.state === 'CANCELLED'
      ? 'the job was cancelled in the queue; submit it again'
      : `read the batch output and \`scontrol show job ${jobId}\``;
  return { done: true, code: 3, error: new SlurmError(message, { hint }), summary: message };
}

export interface StatusView {
  jobId: string;
  jobDir: string;
  /** The controller's state when it wrote status.json (or `lost` when the facts contradict it), else Slurm's. */
  state: string;
  /** Why `state` is not what status.json says. */
  reason?: string;
  /** A local job (`raysl run --local`): Slurm is not asked. */
  local?: boolean;
  /** Slurm could not be asked (why): the state is status.json's as written. */
  slurmUnreachable?: string;
  slurm?: SlurmSide;
  status?: JobStatus;
  exitCode?: number;
}

export function statusView(
  jobId: string,
  jobDir: string,
  status: JobStatus | undefined,
  slurm: SlurmSide | undefined,
  shown?: Reconciled,
  local = false,
): StatusView {
  const view: StatusView = {
    jobId,
    jobDir,
    state: shown?.state ?? status?.state ?? slurm?.state.toLowerCase() ?? 'unknown',
  };
  if (shown?.reason !== undefined) view.reason = shown.reason;
  if (local) view.local = true;
  if (slurm) view.slurm = slurm;
  // the nodes as the facts tell them once the controller is gone (status.json would still say joined)
  if (status) view.status = shown?.nodes ? { ...status, nodes: shown.nodes } : status;
  const exitCode = shown?.exitCode ?? status?.exitCode;
  if (exitCode !== undefined) view.exitCode = exitCode;
  return view;
}

export function formatStatus(v: StatusView): string {
  const lines: string[] = [];
  const s = v.status;
  const slurm = v.local
    ? 'local job'
    : v.slurmUnreachable !== undefined
      ? 'slurm not reachable'
      : v.slurm
        ? `slurm ${v.slurm.state}${v.slurm.reason && v.slurm.reason !== 'None' ? ` (${v.slurm.reason})` : ''}`
        : 'slurm: no longer listed';
  lines.push(`job ${v.jobId}  ${v.state}${v.exitCode !== undefined ? ` (exit ${v.exitCode})` : ''}  ${slurm}`);
  if (v.reason !== undefined) lines.push(`why: ${v.reason}`);
  if (v.slurmUnreachable !== undefined)
    lines.push(`(Slurm could not be asked: ${v.slurmUnreachable}; the state is the controller's last record)`);
  if (!s) {
    lines.push(`no status.json yet in ${v.jobDir} (the controller writes it once the job starts)`);
    return lines.join('\n') + '\n';
  }
  const parts = [`runtime ${s.runtime}`, `launcher ${s.launcher}`, `head ${s.head}`];
  if (s.controller) parts.push(`controller ${s.controller}`);
  if (s.portBlock) parts.push(`ports ${formatBlock(s.portBlock)}`);
  lines.push(parts.join(', '));
  if (s.error) lines.push(`error: ${s.error.message}${s.error.hint ? `\n  hint: ${s.error.hint}` : ''}`);
  lines.push('nodes:');
  const rows = s.nodes.map((n) => [
    n.name,
    n.role,
    n.state,
    n.cpus !== undefined ? `${n.cpus} CPU` : '',
    n.gpus !== undefined ? `${n.gpus} GPU` : '',
    n.address,
    n.satellite !== undefined ? `satellite ${n.satellite}` : '',
    n.reason ?? '',
  ]);
  lines.push(...table(rows).map((l) => `  ${l}`));
  lines.push(...satelliteLines(s));
  lines.push(...attemptLines(s));
  lines.push('timeline:');
  for (const ev of s.timeline) lines.push(`  ${`+${secs(ev.t)}`.padStart(8)}  ${eventLine(s, ev)}`);
  lines.push(`job dir: ${v.jobDir}`);
  return lines.join('\n') + '\n';
}

/** An elastic cluster: one line per satellite (its Slurm id, state, nodes, why it came and why it ended). */
export function satelliteLines(s: Pick<JobStatus, 'satellites'>): string[] {
  const sats = s.satellites ?? [];
  if (sats.length === 0) return [];
  const rows = sats.map((x) => [
    `  ${x.id}`,
    x.slurmJobId !== undefined ? `slurm ${x.slurmJobId}` : 'not submitted',
    x.state,
    x.nodes.length > 0
      ? `${x.nodes.join(',')} (${x.joined.length}/${x.requested} joined)`
      : `${x.requested} node(s) asked`,
    x.why ?? x.reason,
  ]);
  return ['satellites:', ...table(rows)];
}

/** A requeued job: one line per attempt, earlier ones with where their files went. */
export function attemptLines(s: JobStatus): string[] {
  if (s.attempt === undefined) return [];
  const earlier = s.attempts ?? [];
  const rows = earlier.map((a) => [
    `  #${a.attempt}`,
    a.state,
    a.exitCode !== undefined ? `exit ${a.exitCode}` : '',
    a.reason ?? '',
    a.dir,
  ]);
  rows.push([`  #${s.attempt}`, `${s.state} (this one)`, s.exitCode !== undefined ? `exit ${s.exitCode}` : '', '', '']);
  return [`attempts: ${earlier.length + 1}`, ...table(rows)];
}

/**
 * Left-aligned columns, two spaces apart, columns empty in every row left out, trailing space
 * trimmed; every cell terminal-safe (printable): a job name is anyone's text.
 */
export function table(cells: string[][]): string[] {
  const rows = cells.map((r) => r.map(printable));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .flatMap((c, i) => ((widths[i] ?? 0) === 0 ? [] : [c.padEnd(widths[i] ?? 0)]))
      .join('  ')
      .trimEnd(),
  );
}

export interface LsRow {
  id: string;
  name: string;
  state: string;
  nodes: string;
  ports: string;
  /** Seconds since the job was submitted (Slurm) or started (local); null when unknown. */
  age: number | null;
  /** When it was submitted or started (ISO 8601), null when unknown. */
  since: string | null;
  /** Why the state is `lost` (status.json said otherwise). */
  reason?: string;
}

/** Whole seconds from `fromMs` to `nowMs` (0 for a clock that went back). */
export function ageSeconds(fromMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - fromMs) / 1000));
}

/** "42s", "5m", "3h", "2d": how long ago `fromMs` was. */
export function age(fromMs: number, nowMs: number): string {
  const s = ageSeconds(fromMs, nowMs);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function formatLs(rows: LsRow[]): string {
  if (rows.length === 0) return '';
  const header = ['ID', 'NAME', 'STATE', 'NODES', 'PORTS', 'AGE'];
  return (
    table([
      header,
      ...rows.map((r) => [r.id, r.name, r.state, r.nodes, r.ports, r.age === null ? '?' : age(0, r.age * 1000)]),
    ]).join('\n') + '\n'
  );
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\x1b': '\\e',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\\': '\\\\',
};

/** A terminal-safe cell: control characters (C0, DEL, C1) shown as escapes, never raw (a job name can hold ESC). */
export function printable(s: string): string {
  return s.replace(
    /[\x00-\x1f\x7f-\x9f\\]/g,
    (c) => NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
