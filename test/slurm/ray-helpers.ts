/**
 * The real Ray (2.60, the venv of scripts/ray-venv.sh, provided by test/setup/ray-global.ts) in
 * raysl jobs on the Slurm test cluster, set up the way a user does it: `--setup 'source
 * <venv>/bin/activate'` puts the venv's `ray` and `python3` first on PATH in the job, and
 * RAYSL_RAY_BIN in the submitting environment (sbatch exports it) names the `ray` explicitly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { PortBlock, PortLayout } from '../../src/core/types.js';
import { resolveRayPorts } from '../../src/runtimes/ray/ports.js';
import { cancel } from '../../src/slurm/scancel.js';
import { runSlurmRaw } from '../../src/slurm/exec.js';
import { waitForJobEnd } from './helpers.js';
import type { Cli } from './raysl-cli.js';

export const venvBin = (): string => inject('rayVenvBin');
export const rayBinPath = (): string => inject('rayBin');

/** The job flag that activates the venv on every node (before the agent starts `ray`). */
export const activate = (): string[] => ['--setup', `source ${venvBin()}/activate`];

/** The submitting environment with RAYSL_RAY_BIN naming the venv's ray. */
export const rayBinEnv = (): NodeJS.ProcessEnv => ({ RAYSL_RAY_BIN: rayBinPath() });

export function agentLog(jobRoot: string, jobId: string, node: string): string {
  return readFileSync(join(jobRoot, jobId, `agent-${node}.log`), 'utf8');
}

/** The `ray start ...` command line an agent logged ("ray 2.60.0: <bin> start ..."). */
export function rayStartLine(jobRoot: string, jobId: string, node: string): string {
  const m = /ray \d+\.\d+\.\d+: (\S+ start .*)$/m.exec(agentLog(jobRoot, jobId, node));
  if (!m?.[1]) throw new Error(`no ray start line in ${node}'s log of job ${jobId}`);
  return m[1];
}

export function tempDirOf(startLine: string): string {
  const m = /--temp-dir=(\S+)/.exec(startLine);
  if (!m?.[1]) throw new Error(`no --temp-dir in ${startLine}`);
  return m[1];
}

export function portBlockOf(jobRoot: string, jobId: string): PortBlock {
  return JSON.parse(readFileSync(join(jobRoot, jobId, 'ports.json'), 'utf8')) as PortBlock;
}

export function layoutOf(jobRoot: string, jobId: string): PortLayout {
  return (JSON.parse(readFileSync(join(jobRoot, jobId, 'plan.json'), 'utf8')) as { portLayout: PortLayout }).portLayout;
}

/** The job's Ray ports (the same on every node: each node has its own port space). */
export function rayPortsOf(jobRoot: string, jobId: string): ReturnType<typeof resolveRayPorts> {
  return resolveRayPorts(portBlockOf(jobRoot, jobId).base, layoutOf(jobRoot, jobId));
}

/**
 * A Ray workload: connects like train.py and says which cluster it sees ("connected <RAY_ADDRESS>
 * <alive nodes> <GPUs> <CPUs>"); with `jobSubmit`, runs `ray job submit` against its own cluster
 * (nothing but the environment raysl gave it) and reports; then prints "holding" and runs until
 * the test creates the release file, bounded at 120 s so a broken test cannot leave it running.
 */
export function holdPy(
  dir: string,
  name: string,
  opts: { jobSubmit?: boolean } = {},
): { path: string; release: () => void } {
  const path = join(dir, `${name}.py`);
  const flag = join(dir, `${name}.release`);
  const lines = [
    'import os, subprocess, sys, time, ray',
    'ray.init()',
    'alive = [n for n in ray.nodes() if n["Alive"]]',
    'res = ray.cluster_resources()',
    'print("connected", os.environ["RAY_ADDRESS"], len(alive), int(res.get("GPU", 0)), int(res.get("CPU", 0)), flush=True)',
  ];
  if (opts.jobSubmit) {
    lines.push(
      "probe = \"import ray; ray.init(); r = ray.cluster_resources(); print('job-ok', len(ray.nodes()), int(r.get('GPU', 0)))\"",
      'r = subprocess.run(["ray", "job", "submit", "--", "python3", "-c", probe], capture_output=True, text=True, timeout=100)',
      'said = [l for l in r.stdout.splitlines() if l.startswith("job-ok")]',
      'print("job submit exit", r.returncode, flush=True)',
      'print("job submit says", said[0] if said else "nothing: " + (r.stdout + r.stderr)[-2000:].replace("\\n", " | "), flush=True)',
    );
  }
  lines.push(
    'print("holding", flush=True)',
    'end = time.time() + 120',
    `while not os.path.exists(${JSON.stringify(flag)}) and time.time() < end:`,
    '    time.sleep(0.1)',
    `print("released" if os.path.exists(${JSON.stringify(flag)}) else "gave up", flush=True)`,
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, release: () => writeFileSync(flag, '') };
}

/** A promise that rejects after `ms` with `what` (for waits on a process exit). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/**
 * Test cleanup: kills the raysl CLIs still running and scancels the jobs still queued or running,
 * then waits until they have left squeue (a job left behind breaks later test files).
 */
export async function cleanUp(clis: readonly Cli[], jobIds: readonly string[]): Promise<void> {
  for (const c of clis) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const id of jobIds) {
    const r = await runSlurmRaw(['squeue', '--noheader', `--jobs=${id}`, '--format=%T']);
    if (r.stdout.trim() !== '') await cancel({ jobId: id });
  }
  for (const id of jobIds) await waitForJobEnd(id, { timeoutMs: 60_000 });
}
