/**
 * squeue: list jobs. We control the output format: fields are separated by ASCII unit separator
 * (0x1f) and records end with record separator (0x1e) + newline, so names, comments and reasons
 * may contain spaces, '|' or even newlines without breaking the parse.
 */
import { SlurmError } from '../core/errors.js';
import { compressHostlist, expandHostlist } from '../core/nodelist.js';
import { runSlurmRaw, slurmFailure, type SlurmRunOptions } from './exec.js';

export interface SlurmJob {
  /** The job id; a heterogeneous job's components ("82+0", "82+1") are merged into one job "82". */
  id: string;
  /** Heterogeneous job: how many components were merged into this record. */
  hetComponents?: number;
  name: string;
  user: string;
  /** Long state name: PENDING, RUNNING, COMPLETING, CANCELLED, ... */
  state: string;
  partition: string;
  /** Compressed hostlist; empty while pending. */
  nodelist: string;
  /** Pending reason, "None" when running. */
  reason: string;
  /** Free text set with --comment or `scontrol update Comment=`; raysl records its port block here. */
  comment: string;
  numNodes: number;
  numCpus: number;
  /** e.g. "gres:gpu:2" (Slurm 22.05) or "gres/gpu:2" (24.11), or "" when none; carried, not interpreted. */
  tresPerNode: string;
  timeLimit: string;
  timeUsed: string;
  submitTime: string;
  /** Actual or expected start, "N/A" when unknown. */
  startTime: string;
}

export interface JobFilter {
  user?: string;
  partition?: string;
  /** Long or short state names (RUNNING, R, PENDING, ...), as squeue --states takes them. */
  states?: readonly string[];
  jobIds?: readonly string[];
  name?: string;
}

const FS = '\x1f';
const RS = '\x1e';

/** Field order of the format string; the parser relies on it. */
const FIELDS = [
  ['id', '%i'],
  ['name', '%j'],
  ['user', '%u'],
  ['state', '%T'],
  ['partition', '%P'],
  ['nodelist', '%N'],
  ['reason', '%r'],
  ['comment', '%k'],
  ['numNodes', '%D'],
  ['numCpus', '%C'],
  ['tresPerNode', '%b'],
  ['timeLimit', '%l'],
  ['timeUsed', '%M'],
  ['submitTime', '%V'],
  ['startTime', '%S'],
] as const;

export const SQUEUE_FORMAT = FIELDS.map(([, f]) => f).join(FS) + RS;

export function squeueArgv(filter: JobFilter = {}): string[] {
  const argv = ['squeue', '--noheader', `--format=${SQUEUE_FORMAT}`];
  if (filter.user !== undefined) argv.push(`--user=${filter.user}`);
  if (filter.partition !== undefined) argv.push(`--partition=${filter.partition}`);
  const ids = filter.jobIds ?? [];
  if (filter.states !== undefined && filter.states.length > 0) argv.push(`--states=${filter.states.join(',')}`);
  // squeue hides finished jobs by default; a lookup by id wants them too (kept for MinJobAge).
  else if (ids.length > 0) argv.push('--states=all');
  if (ids.length > 0) argv.push(`--jobs=${ids.join(',')}`);
  if (filter.name !== undefined) argv.push(`--name=${filter.name}`);
  return argv;
}

export function parseSqueue(stdout: string): SlurmJob[] {
  const records = stdout.split(`${RS}\n`);
  const last = records.pop();
  if (last !== undefined && last.trim() !== '') {
    throw new SlurmError(
      `squeue output does not end with a record separator: received ${JSON.stringify(last.slice(0, 120))}`,
      {
        hint: 'squeue printed something unexpected; run the squeue command by hand',
      },
    );
  }
  return mergeHetComponents(
    records.map((rec) => {
      const parts = rec.split(FS);
      if (parts.length !== FIELDS.length) {
        throw new SlurmError(
          `squeue record has ${parts.length} fields, expected ${FIELDS.length}: ${JSON.stringify(rec.slice(0, 200))}`,
          {
            hint: 'is this Slurm older than 20.11? raysl needs Slurm >= 22.05',
          },
        );
      }
      const get = (i: number): string => parts[i] ?? '';
      return {
        id: get(0),
        name: get(1),
        user: get(2),
        state: get(3),
        partition: get(4),
        nodelist: get(5),
        reason: get(6),
        comment: nullToEmpty(get(7)),
        numNodes: Number(get(8)),
        numCpus: Number(get(9)),
        tresPerNode: nullToEmpty(get(10)) === 'N/A' ? '' : nullToEmpty(get(10)),
        timeLimit: get(11),
        timeUsed: get(12),
        submitTime: get(13),
        startTime: get(14),
      };
    }),
  );
}

/**
 * squeue lists each component of a heterogeneous job as "<id>+<offset>" (Slurm 22.05, recorded in
 * test/fixtures/slurm/squeue-het-22.05.txt); raysl knows the job by <id>: one record with
 * component 0's name, state and times, and the nodes, CPUs and comment of all components.
 */
function mergeHetComponents(jobs: SlurmJob[]): SlurmJob[] {
  const out: SlurmJob[] = [];
  const byId = new Map<string, SlurmJob>();
  for (const job of jobs) {
    const m = /^(\d+)\+(\d+)$/.exec(job.id);
    if (m === null) {
      out.push(job);
      continue;
    }
    const id = m[1] as string;
    const seen = byId.get(id);
    if (seen === undefined) {
      const first = { ...job, id, hetComponents: 1 };
      byId.set(id, first);
      out.push(first);
      continue;
    }
    const nodes = [
      ...(seen.nodelist ? expandHostlist(seen.nodelist) : []),
      ...(job.nodelist ? expandHostlist(job.nodelist) : []),
    ];
    seen.nodelist = nodes.length > 0 ? compressHostlist([...new Set(nodes)]) : '';
    seen.numNodes += job.numNodes;
    seen.numCpus += job.numCpus;
    seen.hetComponents = (seen.hetComponents ?? 1) + 1;
    if (seen.comment === '') seen.comment = job.comment;
    if (seen.tresPerNode === '') seen.tresPerNode = job.tresPerNode;
  }
  return out;
}

function nullToEmpty(s: string): string {
  return s === '(null)' ? '' : s;
}

/** An unknown (or purged) job id makes squeue exit 1; for a lookup that simply means "no such job". */
export function isInvalidJobId(stderr: string): boolean {
  return /Invalid job id specified/i.test(stderr);
}

export async function listJobs(filter: JobFilter = {}, opts: SlurmRunOptions = {}): Promise<SlurmJob[]> {
  const argv = squeueArgv(filter);
  const r = await runSlurmRaw(argv, opts);
  if (r.exitCode !== 0) {
    if (filter.jobIds !== undefined && isInvalidJobId(r.stderr)) return [];
    throw slurmFailure(argv, r);
  }
  return parseSqueue(r.stdout);
}

/** The job's long state name, or undefined once slurmctld no longer knows the job. */
export async function jobState(jobId: string, opts: SlurmRunOptions = {}): Promise<string | undefined> {
  const jobs = await listJobs({ jobIds: [jobId] }, opts);
  return jobs.find((j) => j.id === jobId)?.state;
}
