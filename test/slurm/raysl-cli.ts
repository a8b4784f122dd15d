/**
 * Running the built raysl CLI against the test cluster: a real process per command, a private job
 * dir per test under the cluster's directory, and waits on output/files/job states with deadlines.
 */
import { spawnCli, type CliProcess } from '../support/cli-process.js';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, ensureBuilt, root } from '../local/helpers.js';
import { parseStatus, type JobStatus } from '../../src/core/status.js';
import { slurmConf, slurmDir } from './helpers.js';
import { until } from '../support/until.js';

export { root };

export type Cli = CliProcess;

/** A fresh job dir root for one test. */
export function newJobRoot(name: string): string {
  return mkdtempSync(join(slurmDir(), 'jobs', `${name}-`));
}

export function raysl(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Cli {
  ensureBuilt();
  const conf = slurmConf();
  return spawnCli([bundle, ...args], {
    // submit from outside the repo, as users do (inside it, tsx would apply raysl's own tsconfig
    // to the entrypoint); every path the tests pass is absolute
    cwd: opts.cwd ?? join(slurmDir(), 'jobs'),
    env: { ...process.env, SLURM_CONF: conf, NO_COLOR: '1', ...opts.env },
    defaultStream: 'stderr',
    defaultMs: 30_000,
  });
}

/** Runs a raysl command to its end. */
export async function rayslDone(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = raysl(args, opts);
  const code = await c.exited;
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

export function readJobStatus(jobRoot: string, jobId: string): JobStatus | undefined {
  try {
    return parseStatus(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Waits until status.json satisfies `pred` (it is rewritten atomically, so every read is whole). */
export function waitForStatus(
  jobRoot: string,
  jobId: string,
  what: string,
  pred: (s: JobStatus) => boolean,
  ms = 30_000,
): Promise<JobStatus> {
  let last = '(no status.json)';
  return until(
    () => `${what} in job ${jobId}'s status.json (last state: ${last})`,
    async () => {
      const s = readJobStatus(jobRoot, jobId);
      if (s) last = `${s.state}, joined ${s.joined.join(',') || 'none'}`;
      return s && pred(s) ? s : undefined;
    },
    ms,
  );
}

/**
 * An entrypoint that runs until the test creates `<jobRoot>/release` (bounded at 60 s so a broken
 * test cannot leave it running), then exits 0. It is the job's workload, not a test wait.
 */
export function holdEntrypoint(jobRoot: string): { path: string; release: () => void } {
  const path = join(jobRoot, 'hold.sh');
  const flag = join(jobRoot, 'release');
  writeFileSync(
    path,
    `#!/bin/sh\necho "holding until ${flag}"\ni=0\nwhile [ ! -e ${flag} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n[ -e ${flag} ] && echo released && exit 0\nexit 9\n`,
  );
  chmodSync(path, 0o755);
  return { path, release: () => writeFileSync(flag, '') };
}

/** The entrypoint's pid as the controller logged it ("entrypoint started (pid N)"). */
export function entrypointPid(jobRoot: string, jobId: string): number | undefined {
  try {
    const m = /entrypoint started \(pid (\d+)\)/.exec(readFileSync(join(jobRoot, jobId, 'controller.log'), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The job id `raysl submit` printed ("submitted job N"). */
export async function submittedId(c: Cli): Promise<string> {
  return (await c.waitFor(/submitted job (\d+)/))[1]!;
}
