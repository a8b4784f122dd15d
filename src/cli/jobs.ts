/**
 * Finding a submitted job again: its directory (status.json, logs) and what Slurm says about it.
 * Shared by submit --follow, status, logs, cancel and ls.
 *
 * The job dir root is the one the job was planned with: `--job-dir`, else the config's default
 * profile, else ./raysl-jobs (as `raysl submit` computes it). When the job is not under that root
 * (submitted from another directory), Slurm still knows where its script lives while it remembers
 * the job: `raysl submit` writes the script into the root, so the script's directory is the root.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { AGENT_ENDING_SUFFIX, parseAgentEnding, type AgentEnding } from '../core/agent-ending.js';
import { profileLayers } from '../core/config.js';
import { SlurmError, UsageError } from '../core/errors.js';
import { assertSafeName, isLocalJobId, jobPaths, type JobPaths } from '../core/jobdir.js';
import { isOver, reconcile, SLURM_FINAL_STATES, type LivenessFacts, type Reconciled } from '../core/reconcile.js';
import { stillRunning } from '../proc/identity.js';
import { DEFAULT_JOB_DIR, mergeInputs } from '../core/spec.js';
import { isFinal, parseStatus, type JobStatus } from '../core/status.js';
import { isSlurmJobId, showJob } from '../slurm/scontrol.js';
import { listJobs, type SlurmJob } from '../slurm/squeue.js';
import type { SlurmRunOptions } from '../slurm/exec.js';
import { loadConfig } from './config-file.js';
import type { Io } from './io.js';

export interface JobRef {
  jobId: string;
  root: string;
  paths: JobPaths;
}

/** The job dir root: --job-dir, the config's default profile, or ./raysl-jobs. */
export async function jobRoot(flag: string | undefined, io: Io): Promise<string> {
  if (flag !== undefined) return resolve(io.cwd, flag);
  const { config, files } = await loadConfig(io.cwd, io.env);
  const fromConfig = mergeInputs(profileLayers(config, undefined, files)).jobDir;
  return resolve(io.cwd, fromConfig ?? DEFAULT_JOB_DIR);
}

export function slurmOpts(io: Io): SlurmRunOptions {
  return { env: io.env, timeoutMs: 30_000 };
}

/** The job's directory: under the root if it is there, else next to the script Slurm ran. */
export async function locateJob(jobId: string, root: string, io: Io): Promise<JobRef> {
  if (isLocalJobId(jobId)) {
    assertSafeName('job id', jobId);
    const paths = jobPaths(root, jobId);
    if (!existsSync(paths.dir)) throw unknownJob(jobId, root);
    return { jobId, root, paths };
  }
  if (!isSlurmJobId(jobId)) {
    throw new UsageError(
      `expected a job id: a Slurm job id such as 1234, or a local one such as local-1796451843169-13384; received ${JSON.stringify(jobId)}`,
      {
        hint: 'list your jobs with `raysl ls --all` (local jobs are under --job-dir, default ./raysl-jobs)',
      },
    );
  }
  const here = jobPaths(root, jobId);
  if (existsSync(here.dir)) return { jobId, root, paths: here };
  const job = await showJob(jobId, slurmOpts(io)).catch(() => undefined);
  const script = job?.raw.Command;
  if (script && script !== '(null)') {
    const other = dirname(script);
    if (existsSync(jobPaths(other, jobId).dir)) return { jobId, root: other, paths: jobPaths(other, jobId) };
  }
  return { jobId, root, paths: here };
}

/** The most recently started job under the root (by the mtime of its directory). */
function latestJobId(root: string): string | undefined {
  let best: { id: string; mtime: number } | undefined;
  for (const id of listJobDirs(root)) {
    const mtime = statSync(jobPaths(root, id).dir).mtimeMs;
    if (!best || mtime > best.mtime) best = { id, mtime };
  }
  return best?.id;
}

/** Job ids (Slurm's and `local-...`) that have a directory under the root. */
export function listJobDirs(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((n) => (/^\d+(_\d+)?$/.test(n) || isLocalJobId(n)) && statSync(resolve(root, n)).isDirectory());
}

/** status.json, or undefined while the controller has not written it. */
export function readStatus(paths: JobPaths): JobStatus | undefined {
  let text: string;
  try {
    text = readFileSync(paths.status, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseStatus(text);
}

/** Slurm's record of the job; undefined once slurmctld has forgotten it (MinJobAge after the end). */
export async function slurmJob(jobId: string, io: Io): Promise<SlurmJob | undefined> {
  return (await listJobs({ jobIds: [jobId] }, slurmOpts(io))).find((j) => j.id === jobId);
}

/** 1-based place among pending jobs of the partition, in squeue's own (priority) order. */
export async function queuePosition(job: SlurmJob, io: Io): Promise<{ position: number; of: number } | undefined> {
  if (job.state !== 'PENDING') return undefined;
  const pending = (await listJobs({ states: ['PENDING'], partition: job.partition }, slurmOpts(io))).filter(
    (j) => j.partition === job.partition,
  );
  const i = pending.findIndex((j) => j.id === job.id);
  return i === -1 ? undefined : { position: i + 1, of: pending.length };
}

/** Why Slurm stopped or holds the job, from `scontrol show job` (reason and exit code). */
export async function slurmEnding(
  jobId: string,
  io: Io,
): Promise<{ state: string; reason: string; exitCode: string } | undefined> {
  const job = await showJob(jobId, slurmOpts(io));
  return job ? { state: job.state, reason: job.reason, exitCode: job.exitCode } : undefined;
}

export function currentUser(io: Io): string {
  return io.env.USER ?? io.env.LOGNAME ?? userInfo().username;
}

/** A job id from the argument, or the newest job under the root. */
export function jobIdOrLatest(arg: string | undefined, root: string, io: Io): string {
  if (arg !== undefined) return arg;
  const latest = latestJobId(root);
  if (latest === undefined) {
    throw new UsageError(`no raysl jobs found in ${root}`, {
      hint: 'pass a job id, or --job-dir pointing at the directory you submitted with',
    });
  }
  // stderr: stdout stays the log (or the status) alone
  io.stderr.write(`job ${latest} (the newest in ${root}; pass a job id for another)\n`);
  return latest;
}

function unknownJob(jobId: string, root: string, slurmFailure?: string): UsageError {
  const slurm = isLocalJobId(jobId)
    ? ''
    : slurmFailure !== undefined
      ? `Slurm could not be asked (${slurmFailure}) and `
      : 'Slurm does not list it and ';
  return new UsageError(`no job ${jobId}: ${slurm}there is no directory for it in ${root}`, {
    hint: 'list your jobs with `raysl ls --all` (and pass --job-dir if you submitted with another one)',
  });
}

/** What is known about a job: its record, Slurm's view (not asked for a local job), and the reconciled state. */
export interface JobLook {
  local: boolean;
  status?: JobStatus;
  slurm?: SlurmJob;
  /** The state to show: status.json's, or `lost` when the facts contradict it (undefined without status.json). */
  shown?: Reconciled;
  /** Why Slurm could not be asked (only with `withoutSlurm`): the record is shown as written. */
  slurmUnreachable?: string;
}

/**
 * Gathers the facts and reconciles. We do not write the reconciled state back into status.json:
 * readers stay read-only (a job dir may be someone else's, or the controller may just be slow),
 * and every reader reaches the same answer from the same facts.
 */
export async function lookJob(job: JobRef, io: Io, opts: { withoutSlurm?: boolean } = {}): Promise<JobLook> {
  const local = isLocalJobId(job.jobId);
  const status = readStatus(job.paths);
  const known = status !== undefined || existsSync(job.paths.dir);
  let unreachable: string | undefined;
  const slurm = local
    ? undefined
    : await slurmJob(job.jobId, io).catch((err: unknown) => {
        if (!(err instanceof SlurmError)) throw err;
        // no directory and no Slurm to ask: as unknown as it gets, and the user's mistake is likelier
        if (!known) throw unknownJob(job.jobId, job.root, firstLine(err.message));
        if (!opts.withoutSlurm) throw err;
        unreachable = firstLine(err.message);
        return undefined;
      });
  const look: JobLook = {
    local,
    ...(status ? { status } : {}),
    ...(slurm ? { slurm } : {}),
    ...(unreachable !== undefined ? { slurmUnreachable: unreachable } : {}),
  };
  if (!local && !known && !slurm) throw unknownJob(job.jobId, job.root);
  const facts: LivenessFacts = local
    ? status
      ? controllerFacts(status)
      : {}
    : unreachable !== undefined
      ? {}
      : { slurm: slurm ? { state: slurm.state, reason: slurm.reason } : 'unlisted' };
  if (status && !isFinal(status.state)) {
    const endings = agentEndings(job.paths);
    facts.agentEndings = endings;
    facts.agentsSawLoss = endings.filter((r) => r.outcome === 'lost');
    const cancel = readCancelRequest(job.paths);
    if (cancel) facts.cancelRequested = cancel;
  }
  if (status) look.shown = reconcile(status, facts);
  return look;
}

/** What `raysl cancel` recorded before it signalled the controller (undefined when it did not). */
function readCancelRequest(paths: JobPaths): { at: string; graceSec: number } | undefined {
  try {
    const r = JSON.parse(readFileSync(paths.cancelRequest, 'utf8')) as { at?: unknown; graceSec?: unknown };
    return typeof r.at === 'string' && typeof r.graceSec === 'number' ? { at: r.at, graceSec: r.graceSec } : undefined;
  } catch {
    return undefined;
  }
}

/** Every agent's ending record (agent-<node>.ending.json), torn or foreign ones skipped. */
function agentEndings(paths: JobPaths): AgentEnding[] {
  let names: string[];
  try {
    names = readdirSync(paths.dir).filter((n) => n.startsWith('agent-') && n.endsWith(AGENT_ENDING_SUFFIX));
  } catch {
    return [];
  }
  const seen: AgentEnding[] = [];
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(resolve(paths.dir, name), 'utf8');
    } catch {
      continue;
    }
    const r = parseAgentEnding(text);
    if (r) seen.push(r);
  }
  return seen;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** Is the controller status.json names (pid, host, start time) still running on this machine? */
export function controllerFacts(status: JobStatus): LivenessFacts {
  const alive = stillRunning({
    pid: status.controllerPid,
    host: status.controllerHost,
    startTicks: status.controllerStartTicks,
  });
  return alive === undefined ? {} : { controllerAlive: alive };
}

/** Over: the shown state is final or lost; without status.json, when Slurm has ended (or forgotten) the job. */
export function jobOver(look: JobLook): boolean {
  if (look.shown) return isOver(look.shown.state);
  // a local controller writes status.json before anything else: without it there is nothing to wait for
  return look.local || !look.slurm || SLURM_FINAL_STATES.includes(look.slurm.state);
}
