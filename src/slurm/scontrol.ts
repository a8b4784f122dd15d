/**
 * scontrol: job and node details, the job Comment update.
 * `scontrol show ... -o` prints one record per line as `Key=Value` pairs separated by spaces, where
 * values may themselves contain spaces (OS=Linux 6.1 #1 SMP ...). Keys always start with a capital
 * letter right after a space, so a value ends where the next ` Key=` begins. Known limit: a free-text
 * value (JobName, Comment) that itself contains ` Word=` is cut there; read the Comment through
 * squeue (delimiter-safe) when exactness matters.
 */
import { UsageError } from '../core/errors.js';
import { runSlurm, runSlurmRaw, slurmFailure, type SlurmRunOptions } from './exec.js';
import { isInvalidJobId } from './squeue.js';

export type ScontrolRecord = Record<string, string>;

const KEY = /(?:^|\s)([A-Z][A-Za-z0-9_:/]*)=/g;

/** Pure: one `-o` line into its key/value pairs (values trimmed; "(null)" kept as is). */
export function parseScontrolLine(line: string): ScontrolRecord {
  const keys = [...line.matchAll(KEY)];
  const rec: ScontrolRecord = {};
  keys.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = keys[i + 1]?.index ?? line.length;
    rec[m[1]!] = line.slice(start, end).trim();
  });
  return rec;
}

export function parseScontrolRecords(stdout: string): ScontrolRecord[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseScontrolLine);
}

// ---------------------------------------------------------------- jobs

export interface ScontrolJob {
  id: string;
  name: string;
  user: string;
  state: string;
  reason: string;
  nodelist: string;
  batchHost: string;
  comment: string;
  numNodes: number;
  /** "exit:signal" as Slurm prints it, e.g. "0:0", "1:0", "0:15". */
  exitCode: string;
  stdOut: string;
  workDir: string;
  /** Every key as printed, for fields not lifted above. */
  raw: ScontrolRecord;
}

function showJobArgv(jobId: string): string[] {
  return ['scontrol', 'show', 'job', '--oneliner', jobId];
}

export function parseShowJob(stdout: string): ScontrolJob[] {
  return parseScontrolRecords(stdout).map((raw) => ({
    id: raw.JobId ?? '',
    name: raw.JobName ?? '',
    user: (raw.UserId ?? '').replace(/\(\d+\)$/, ''),
    state: raw.JobState ?? '',
    reason: raw.Reason ?? '',
    nodelist: nullToEmpty(raw.NodeList ?? ''),
    batchHost: nullToEmpty(raw.BatchHost ?? ''),
    comment: nullToEmpty(raw.Comment ?? ''),
    numNodes: Number.parseInt(raw.NumNodes ?? '0', 10),
    exitCode: raw.ExitCode ?? '',
    stdOut: raw.StdOut ?? '',
    workDir: raw.WorkDir ?? '',
    raw,
  }));
}

/** The job's details, or undefined once slurmctld has purged it (MinJobAge after it ended). */
export async function showJob(jobId: string, opts: SlurmRunOptions = {}): Promise<ScontrolJob | undefined> {
  assertJobId(jobId);
  const argv = showJobArgv(jobId);
  const r = await runSlurmRaw(argv, opts);
  if (r.exitCode !== 0) {
    if (isInvalidJobId(r.stderr)) return undefined;
    throw slurmFailure(argv, r);
  }
  // An array or het job prints several records; the one asked for comes first.
  return parseShowJob(r.stdout)[0];
}

export function updateCommentArgv(jobId: string, text: string): string[] {
  return ['scontrol', 'update', `JobId=${jobId}`, `Comment=${text}`];
}

/** Sets the job's Comment (a job's owner may do this for their own job; checked on 22.05). */
export async function updateJobComment(jobId: string, text: string, opts: SlurmRunOptions = {}): Promise<void> {
  assertJobId(jobId);
  if (/[\n\r]/.test(text)) {
    throw new UsageError(`a job comment must be one line, received ${JSON.stringify(text)}`, {
      hint: 'remove the newline from the comment',
    });
  }
  await runSlurm(updateCommentArgv(jobId, text), opts);
}

function requeueArgv(jobId: string): string[] {
  return ['scontrol', 'requeue', jobId];
}

/** Puts a running batch job back in the queue (it needs --requeue); Slurm kills the running attempt at once. */
export async function requeueJob(jobId: string, opts: SlurmRunOptions = {}): Promise<void> {
  assertJobId(jobId);
  await runSlurm(requeueArgv(jobId), opts);
}

// ---------------------------------------------------------------- nodes

export interface SlurmNode {
  name: string;
  /** The address Slurm talks to the node on (NodeAddr); raysl agents bind their ports here. */
  addr: string;
  hostname: string;
  cpus: number;
  realMemory: number;
  /** As configured, e.g. "gpu:4" or "gpu:a100:8(S:0-1)"; "" when none. */
  gres: string;
  gpus: number;
  /** e.g. IDLE, MIXED, ALLOCATED, DOWN+NOT_RESPONDING, IDLE+DRAIN. */
  state: string;
  raw: ScontrolRecord;
}

function showNodesArgv(nodelist: string): string[] {
  return ['scontrol', 'show', 'node', '--oneliner', nodelist];
}

export function parseShowNodes(stdout: string): SlurmNode[] {
  return parseScontrolRecords(stdout).map((raw) => {
    const gres = nullToEmpty(raw.Gres ?? '');
    return {
      name: raw.NodeName ?? '',
      addr: raw.NodeAddr ?? raw.NodeName ?? '',
      hostname: raw.NodeHostName ?? raw.NodeName ?? '',
      cpus: Number.parseInt(raw.CPUTot ?? '0', 10),
      realMemory: Number.parseInt(raw.RealMemory ?? '0', 10),
      gres,
      gpus: gpuCount(gres),
      state: raw.State ?? '',
      raw,
    };
  });
}

/** Pure: total GPUs in a Gres string: "gpu:4", "gpu:a100:2(S:0),gpu:v100:2", "(null)". */
export function gpuCount(gres: string): number {
  let total = 0;
  for (const entry of gres.split(/,(?![^(]*\))/)) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(entry.trim());
    if (m) total += Number(m[1]);
  }
  return total;
}

/** One scontrol call for all the nodes of a hostlist (e.g. the job's SLURM_JOB_NODELIST). */
export async function showNodes(nodelist: string, opts: SlurmRunOptions = {}): Promise<SlurmNode[]> {
  if (nodelist.trim() === '' || /\s/.test(nodelist)) {
    throw new UsageError(`expected a Slurm hostlist such as node[1-4], received ${JSON.stringify(nodelist)}`, {
      hint: 'pass the job nodelist as Slurm prints it (SLURM_JOB_NODELIST)',
    });
  }
  return parseShowNodes(await runSlurm(showNodesArgv(nodelist), opts));
}

// ---------------------------------------------------------------- helpers

function nullToEmpty(s: string): string {
  return s === '(null)' ? '' : s;
}

/** 1234, an array task 1234_5, or a het component 1234+1. */
export function isSlurmJobId(jobId: string): boolean {
  return /^\d+(_\d+)?(\+\d+)?$/.test(jobId);
}

export function assertJobId(jobId: string): void {
  if (!isSlurmJobId(jobId)) {
    throw new UsageError(`expected a Slurm job id such as 1234, received ${JSON.stringify(jobId)}`, {
      hint: 'list your jobs with `raysl ls` or `squeue -u $USER`',
    });
  }
}
