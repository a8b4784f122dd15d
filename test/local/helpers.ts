/**
 * Helpers for the local e2e tests: they run the built bundle (dist/raysl.mjs) as a real process,
 * with a private job dir, and wait on events (output lines, process exits) with deadlines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { JobStatus } from '../../src/core/status.js';
import { spawnCli, type CliProcess } from '../support/cli-process.js';
import { GONE_PACE } from '../../src/proc/group.js';
import { processAlive } from '../../src/proc/identity.js';
import { waitFor } from '../../src/proc/poll.js';
import { notYetOnThrow, until } from '../support/until.js';
import { tempDir } from '../support/temp-dir.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bundle = join(root, 'dist', 'raysl.mjs');
export const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the bundle when it is missing or older than src/ (tests must run what users run). */
export function ensureBuilt(): void {
  const client = join(root, 'dist', 'client.mjs');
  if (
    existsSync(bundle) &&
    existsSync(client) &&
    existsSync(join(root, 'dist', 'entry-hooks.mjs')) &&
    statSync(bundle).mtimeMs >= newestMtime(join(root, 'src'))
  )
    return;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}

export interface Job extends CliProcess {
  jobRoot: string;
  /** The job's directory once the controller created it. */
  jobDir(): string;
  status(): JobStatus;
}

export function runLocal(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Job {
  const jobRoot = tempDir('raysl-test-');
  const cli = spawnCli([bundle, 'run', '--local', '--job-dir', jobRoot, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    defaultStream: 'stdout',
    defaultMs: 15_000,
  });
  const job: Job = {
    ...cli,
    jobRoot,
    jobDir: () => {
      const dirs = readdirSync(jobRoot).filter((d) => d.startsWith('local-'));
      if (dirs.length !== 1) throw new Error(`expected one job dir in ${jobRoot}, found ${dirs.join(', ') || 'none'}`);
      return join(jobRoot, dirs[0]!);
    },
    status: () => JSON.parse(readFileSync(join(job.jobDir(), 'status.json'), 'utf8')) as JobStatus,
  };
  return job;
}

/** Exit within a deadline or fail the test with what the job printed. */
export async function exitWithin(job: Job, ms: number): Promise<{ code: number; ms: number }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    job.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        job.child.kill('SIGKILL');
        reject(new Error(`job did not exit within ${ms} ms\nstdout:\n${job.stdout()}\nstderr:\n${job.stderr()}`));
      }, ms);
    }),
  ]);
  clearTimeout(timer);
  return { code, ms: performance.now() - t0 };
}

/** The pids still alive once all are gone or `ms` passed (a foreign pid has no exit event for us). */
export async function allGone(pids: number[], ms = 5000): Promise<number[]> {
  await waitFor(() => !pids.some((pid) => processAlive(pid)), { timeoutMs: ms, ...GONE_PACE });
  return pids.filter((pid) => processAlive(pid));
}

/** Waits until status.json satisfies pred (the controller rewrites it on every event). */
export async function statusWhere(job: Job, pred: (s: JobStatus) => boolean, ms = 15_000): Promise<JobStatus> {
  const matched = (): JobStatus | undefined => {
    const s = notYetOnThrow(() => job.status())(); // not written yet
    if (s !== undefined && pred(s)) return s;
    if (job.child.exitCode !== null) throw new Error(`job exited before status matched; stderr:\n${job.stderr()}`);
    return undefined;
  };
  return until(() => `status.json to match; stderr:\n${job.stderr()}`, matched, ms, {
    intervalMs: 5,
    maxIntervalMs: 50,
  });
}

export function agentPids(s: JobStatus): number[] {
  return s.nodes.map((n) => n.pid).filter((p): p is number => typeof p === 'number');
}

/** Every live process whose environment carries RAYSL_JOB_ID=<jobId>: agents, entrypoint, their children. */
export function jobProcesses(jobId: string): number[] {
  const needle = `RAYSL_JOB_ID=${jobId}\0`;
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'utf8').includes(needle) && processAlive(Number(d))) found.push(Number(d));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Polls /proc with backoff until no process of the job is left or the deadline passes; returns those left. */
export async function jobGone(jobId: string, ms: number): Promise<number[]> {
  await waitFor(() => jobProcesses(jobId).length === 0, { timeoutMs: ms, ...GONE_PACE });
  return jobProcesses(jobId);
}

/** Runs raysl to its end; a run past the deadline (the /proc/raysl spin) is killed and fails the test. */
export function rayslSync(
  argv: string[],
  opts: { cwd?: string; ms?: number; asNobody?: boolean; env?: NodeJS.ProcessEnv } = {},
): { code: number; stderr: string; stdout: string } {
  const [cmd, args] = opts.asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bundle, ...argv]]
    : [process.execPath, [bundle, ...argv]];
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? root,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    timeout: opts.ms ?? 10_000,
  });
  if (r.signal !== null || r.status === null)
    throw new Error(
      `raysl ${argv.join(' ')} did not exit within ${opts.ms ?? 10_000} ms (${r.signal}); stderr:\n${r.stderr}`,
    );
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

export function expectUsage(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/\n {2}hint: \S/);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}
