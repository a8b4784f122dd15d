// Helpers for tests against the real Slurm test cluster (scripts/dev-slurm.sh). Everything waits by
// polling fast with a deadline; nothing uses `sbatch --wait` (it polls after 2, 10, 42 s).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { submit } from '../../src/slurm/sbatch.js';
import { listJobs, type SlurmJob } from '../../src/slurm/squeue.js';
import { runSlurmRaw } from '../../src/slurm/exec.js';
import { until } from '../support/until.js';
import { processAlive } from '../../src/proc/identity.js';

/** SLURM_CONF of the test cluster, also set in process.env so spawned Slurm clients find it. */
export function slurmConf(): string {
  const conf = process.env.SLURM_CONF ?? inject('slurmConf');
  process.env.SLURM_CONF = conf;
  return conf;
}

export function slurmDir(): string {
  return process.env.RAYSL_SLURM_DIR ?? inject('slurmDir');
}

export interface ClusterNode {
  node: string;
  /** The node's own address (NodeAddr), on the cluster's bridge. */
  addr: string;
  /** Its network namespace: run something on the node's network with `nsenter --net=<netns> ...`. */
  netns: string;
}

/** Nodes of the test cluster as dev-slurm.sh recorded them (`<dir>/nodes.net`: node, address, netns path). */
export function clusterNetwork(): ClusterNode[] {
  return readFileSync(join(slurmDir(), 'nodes.net'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [node, addr, netns] = line.split(' ');
      return { node: node!, addr: addr!, netns: netns! };
    });
}

/** One node of clusterNetwork(); throws if the cluster has no such node. */
export function clusterNode(name: string): ClusterNode {
  const n = clusterNetwork().find((x) => x.node === name);
  if (n === undefined) throw new Error(`the test cluster has no node ${name} (see ${join(slurmDir(), 'nodes.net')})`);
  return n;
}

/** Job states after which a job never runs again. */
export const TERMINAL_STATES = [
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
];

/**
 * Waits until the job is in one of `states` and returns it. Fails at once if the job ends in a
 * state that was not asked for (no point waiting for RUNNING after FAILED), and at the deadline.
 */
export async function waitForJobState(
  jobId: string,
  states: readonly string[],
  opts: { timeoutMs?: number } = {},
): Promise<SlurmJob> {
  slurmConf();
  let last = '(unknown)';
  return until(
    () => `job ${jobId} to reach ${states.join('|')} (last seen: ${last})`,
    async () => {
      const job = (await listJobs({ jobIds: [jobId] })).find((j) => j.id === jobId);
      last = job?.state ?? '(not listed)';
      if (job === undefined) return undefined;
      if (states.includes(job.state)) return job;
      if (TERMINAL_STATES.includes(job.state))
        throw new Error(`job ${jobId} ended ${job.state} (reason ${job.reason}); expected ${states.join('|')}`);
      return undefined;
    },
    opts.timeoutMs ?? 30_000,
  );
}

/**
 * Waits until the job is fully over: gone from squeue's default listing (pending, running,
 * completing). After scancel the state is CANCELLED within ~20 ms, but the steps' processes are
 * reaped only when the job stops COMPLETING (1.7-2.7 s measured).
 */
export async function waitForJobEnd(jobId: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  slurmConf();
  await until(
    `job ${jobId} to leave squeue`,
    async () => {
      const r = await runSlurmRaw(['squeue', '--noheader', `--jobs=${jobId}`, '--format=%T']);
      if (r.exitCode !== 0 && !/Invalid job id/.test(r.stderr)) throw new Error(`squeue failed: ${r.stderr}`);
      return r.stdout.trim() === '' ? true : undefined;
    },
    opts.timeoutMs ?? 30_000,
  );
}

export interface SubmittedScript {
  jobId: string;
  dir: string;
  scriptPath: string;
  /** stdout+stderr of the batch script (sbatch --output). */
  outputPath: string;
}

/** Writes `text` as a batch script in a fresh directory and submits it with `sbatchArgs`. */
export async function submitScript(
  text: string,
  opts: { sbatchArgs?: readonly string[]; name?: string } = {},
): Promise<SubmittedScript> {
  slurmConf();
  const dir = mkdtempSync(join(slurmDir(), 'jobs', `${opts.name ?? 'test'}-`));
  const scriptPath = join(dir, 'job.sh');
  const outputPath = join(dir, 'job.out');
  writeFileSync(scriptPath, text.startsWith('#!') ? text : `#!/bin/bash\n${text}`, { mode: 0o755 });
  const jobId = await submit(scriptPath, [
    `--output=${outputPath}`,
    `--chdir=${dir}`,
    `--job-name=${opts.name ?? 'test'}`,
    ...(opts.sbatchArgs ?? []),
  ]);
  return { jobId, dir, scriptPath, outputPath };
}

/** The job's output so far ('' if the file does not exist yet). */
export function jobOutput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export interface JobProcess {
  pid: number;
  node: string;
  cmdline: string;
}

/**
 * Processes of the job still alive on any node. All nodes of the test cluster share this host's
 * PID namespace (each has its own network, UTS and mount namespace), so one /proc scan covers
 * them: a job's tasks (and whatever they spawn, double-forked or not) carry
 * SLURM_JOB_ID=<id> and SLURM_CONF=<this cluster> in their environment.
 */
export function jobProcesses(jobId: string): JobProcess[] {
  const conf = slurmConf();
  const found: JobProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let env: string[];
    let cmdline: string;
    try {
      if (!processAlive(Number(entry))) continue; // zombies hold nothing
      env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // exited while we looked, or not ours to read
    }
    if (!env.includes(`SLURM_JOB_ID=${jobId}`) || !env.includes(`SLURM_CONF=${conf}`)) continue;
    const node = env.find((e) => e.startsWith('SLURMD_NODENAME='))?.slice('SLURMD_NODENAME='.length) ?? '?';
    found.push({ pid: Number(entry), node, cmdline });
  }
  return found;
}

/** POSIX single-quoting for values put into test batch scripts. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Every process of a raysl job on any node: its environment has RAYSL_JOB_ID=<id> (agents, Ray's
 * daemons, the entrypoint) or RAYSL_RAY_OF=<id>/<node> (Ray's processes), or its command line or working directory is under one of `paths` (the
 * job's temp dirs: Ray's workers rename themselves with setproctitle, which overwrites their
 * command line and can overwrite their environment, but they run with cwd in the node's temp dir).
 * The node comes from SLURMD_NODENAME, else from a path `/tmp/raysl-<id>/<node>/...`. The default
 * paths name this cluster's nodes, so the bench's cluster (same /tmp, its own job ids) never matches.
 */
export function rayslJobProcesses(
  jobId: string,
  paths: readonly string[] = clusterNetwork().map((n) => `/tmp/raysl-${jobId}/${n.node}/`),
): JobProcess[] {
  const conf = slurmConf();
  const found: JobProcess[] = [];
  const mark = `RAYSL_JOB_ID=${jobId}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let env: string[];
    let cmdline: string;
    let cwd = '';
    try {
      if (!processAlive(Number(entry))) continue; // zombies hold nothing
      env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      try {
        cwd = `${readlinkSync(`/proc/${entry}/cwd`)}/`;
      } catch {
        // a kernel thread or gone: no cwd
      }
    } catch {
      continue;
    }
    const under = (s: string): string | undefined => paths.find((p) => s.includes(p));
    // another test cluster (the bench's) numbers its jobs too: its SLURM_CONF differs
    const ours =
      env.some((e) => e.trim() === mark || e.startsWith(`RAYSL_RAY_OF=${jobId}/`)) &&
      !env.some((e) => e.startsWith('SLURM_CONF=') && e.trim() !== `SLURM_CONF=${conf}`);
    const hit = ours ? mark : (under(cmdline) ?? (cwd && paths.some((p) => cwd.startsWith(p)) ? cwd : undefined));
    if (hit === undefined) continue;
    const node =
      env.find((e) => e.startsWith('SLURMD_NODENAME='))?.slice('SLURMD_NODENAME='.length) ??
      new RegExp(`/raysl-${jobId}/([^/]+)/`).exec(`${cmdline} ${cwd}`)?.[1] ??
      '?';
    found.push({ pid: Number(entry), node, cmdline: cmdline || `(no cmdline; cwd ${cwd})` });
  }
  return found;
}

/**
 * Watches every process's command line (one /proc scan per ~100 ms) for `re` until stop():
 * returns the distinct command lines seen. For things that must never run, such as `ray stop`.
 */
export function watchCommandLines(re: RegExp): { stop: () => string[] } {
  const seen = new Set<string>();
  const scan = (): void => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const c = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (re.test(c)) seen.add(`${entry}: ${c}`);
      } catch {
        // gone
      }
    }
  };
  const timer = setInterval(scan, 100);
  scan();
  return {
    stop: () => {
      clearInterval(timer);
      scan();
      return [...seen];
    },
  };
}

/**
 * Connects to host:port from inside a node's network namespace (nsenter --net) and says what
 * happened: 'open', or the error code ('ECONNREFUSED', 'ETIMEDOUT', ...).
 */
export function connectFrom(netns: string, host: string, port: number): Promise<string> {
  const js = `const s=require('net').connect(${port},${JSON.stringify(host)});s.setTimeout(5000,()=>{console.log('ETIMEDOUT');process.exit(0)});s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',(e)=>{console.log(e.code);process.exit(0)})`;
  return new Promise((resolve, reject) => {
    execFile(
      'nsenter',
      [`--net=${netns}`, process.execPath, '-e', js],
      { timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`nsenter --net=${netns} node: ${err.message} ${stderr}`));
        else resolve(stdout.trim());
      },
    );
  });
}
