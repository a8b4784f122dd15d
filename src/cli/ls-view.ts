/**
 * `raysl ls` as data: the rows from the collected facts (squeue's jobs of this user, the job
 * directories with their status.json), pure. ls.ts collects; status-view.ts's formatLs prints.
 */
import { isLocalJobId } from '../core/jobdir.js';
import { compressHostlist } from '../core/nodelist.js';
import { formatBlock, parsePortRecord } from '../core/ports.js';
import { isOver, reconcile, type LivenessFacts } from '../core/reconcile.js';
import type { JobStatus } from '../core/status.js';
import type { SlurmJob } from '../slurm/squeue.js';
import { ageSeconds, type LsRow } from './status-view.js';

/** One job directory: its status.json and, for a job squeue does not list, its name and its controller's liveness. */
export interface JobDirFacts {
  id: string;
  status: JobStatus | undefined;
  /** plan.json's job name ('-' when unreadable); only read for a job squeue does not list. */
  name?: string;
  /** A local job's controller: still running on this machine? */
  controller?: LivenessFacts;
}

export interface LsFacts {
  now: number;
  /** --all: also finished and lost jobs found only in the job dir. */
  all: boolean;
  /** squeue's jobs of this user; undefined when Slurm could not be asked. */
  queue:
    | ReadonlyArray<Pick<SlurmJob, 'id' | 'name' | 'state' | 'reason' | 'nodelist' | 'comment' | 'submitTime'>>
    | undefined;
  dirs: readonly JobDirFacts[];
}

function ageOf(startedMs: number, nowMs: number): Pick<LsRow, 'age' | 'since'> {
  if (Number.isNaN(startedMs)) return { age: null, since: null };
  return { age: ageSeconds(startedMs, nowMs), since: new Date(startedMs).toISOString() };
}

/** The rows `raysl ls` shows, newest first: squeue's raysl jobs, then job dirs squeue does not list. */
export function lsRows(f: LsFacts): LsRow[] {
  const dirs = new Map(f.dirs.map((d) => [d.id, d]));
  const rows: Array<{ row: LsRow; t: number }> = [];
  for (const j of f.queue ?? []) {
    const block = parsePortRecord(j.comment);
    const dir = dirs.get(j.id);
    if (block === undefined && !dir) continue;
    const shown = dir?.status && reconcile(dir.status, { slurm: { state: j.state, reason: j.reason } });
    const started = Date.parse(j.submitTime);
    const row: LsRow = {
      id: j.id,
      name: j.name,
      state: shown ? shown.state : j.state.toLowerCase(),
      nodes: j.nodelist || `(${j.reason})`,
      ports: block ? formatBlock(block) : '-',
      ...ageOf(started, f.now),
    };
    if (shown?.reason !== undefined) row.reason = shown.reason;
    rows.push({ row, t: Number.isNaN(started) ? 0 : started });
    dirs.delete(j.id);
  }
  for (const { id, status: s, name, controller } of dirs.values()) {
    const facts: LivenessFacts = !s ? {} : isLocalJobId(id) ? (controller ?? {}) : f.queue ? { slurm: 'unlisted' } : {};
    const shown = s && reconcile(s, facts);
    // without --all: only what may still be running (a local job, or any job when Slurm is not reachable)
    if (!f.all && (!shown || isOver(shown.state) || (!isLocalJobId(id) && f.queue))) continue;
    const started = s ? Date.parse(s.startedAt) : Number.NaN;
    const row: LsRow = {
      id,
      name: name ?? '-',
      state: shown?.state ?? 'unknown',
      nodes: s ? compressHostlist(s.nodes.map((n) => n.name)) : '-',
      ports: s?.portBlock ? formatBlock(s.portBlock) : '-',
      ...ageOf(started, f.now),
    };
    if (shown?.reason !== undefined) row.reason = shown.reason;
    rows.push({ row, t: Number.isNaN(started) ? 0 : started });
  }
  // newest first (Slurm ids and local ids do not compare as numbers)
  return rows.sort((a, b) => b.t - a.t || b.row.id.localeCompare(a.row.id)).map((r) => r.row);
}

/** What ls says on stderr when it has no row. */
export function noJobsLine(all: boolean, askedSlurm: boolean, root: string): string {
  return `no raysl jobs${all ? ` (looked in ${askedSlurm ? 'squeue and ' : ''}${root})` : ' running (--all adds finished ones from the job dir)'}`;
}
