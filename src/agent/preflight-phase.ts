/**
 * The preflight phase (--preflight): before probing ports and starting its runtime, the agent looks
 * at its node (the size of /dev/shm, free space where its scratch dir goes, the GPUs the driver
 * shows against what Slurm bound, the runtime's executable) and refuses to start, naming what is
 * wrong, when a threshold is not met. The controller then fails the node; under --min-nodes the job
 * goes on without it. core/preflight.ts judges; this file only gathers the facts.
 */
import { underLocalLauncher } from '../core/env-names.js';
import { execFile } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { judgePreflight, type PreflightFacts, type PreflightMin } from '../core/preflight.js';
import { resolveExecutable } from '../runtimes/ray/bin.js';
import type { RuntimeAdapter } from '../runtimes/types.js';
import type { AgentContext } from './context.js';
import type { GrantDecision } from './granted.js';
import type { Outcome } from './outcome.js';

const MiB = 1024 * 1024;
/** nvidia-smi answers in well under a second; a wedged driver must not hold the job's start. */
const NVIDIA_SMI_TIMEOUT_MS = 15_000;

export async function preflightPhase(
  ctx: AgentContext,
  adapter: RuntimeAdapter,
  min: PreflightMin,
  grant: GrantDecision,
  scratchDir: string,
): Promise<Outcome | undefined> {
  const env = { ...process.env, ...ctx.env };
  const facts: PreflightFacts = {
    shmMb: shmSize('/dev/shm'),
    disk: freeSpace(dirname(scratchDir)),
    gpus: {
      granted: grant.resources.gpus,
      ...(grant.resources.gpus > 0 ? await visibleGpus(env) : { visible: undefined }),
    },
    runtime: { name: adapter.name, ...(adapter.locate?.(ctx.env) ?? {}) },
  };
  const verdict = judgePreflight(facts, min);
  ctx.log(verdict.summary);
  if (verdict.problems.length === 0) return undefined;
  return {
    kind: 'unfit',
    reason: `preflight: ${verdict.problems.join('; ')}`,
    hint: underLocalLauncher(ctx.env)
      ? 'a simulated node is this machine: fix it, or lower the thresholds with --preflight-min; --min-nodes lets the job go on without the node'
      : 'fix the node or exclude it (--sbatch-arg=--exclude=<node>); --min-nodes lets the job go on without it; --preflight-min sets the thresholds',
  };
}

function shmSize(path: string): number | null | undefined {
  try {
    const s = statfsSync(path);
    return (s.blocks * s.bsize) / MiB;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
}

/** Free space of the filesystem that will hold `dir`: the nearest ancestor that exists. */
function freeSpace(dir: string): { path: string; freeMb: number } | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const s = statfsSync(d);
      return { path: d, freeMb: (s.bavail * s.bsize) / MiB };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === dirname(d)) return undefined;
    }
  }
}

/** GPUs the NVIDIA driver lists to this process (its CUDA_VISIBLE_DEVICES applies); not known without nvidia-smi. */
function visibleGpus(env: NodeJS.ProcessEnv): Promise<{ visible: number | undefined; smiError?: string }> {
  const bin = resolveExecutable('nvidia-smi', env);
  if (bin === undefined) return Promise.resolve({ visible: undefined });
  return new Promise((resolve) => {
    execFile(
      bin,
      ['--query-gpu=index', '--format=csv,noheader'],
      { env, timeout: NVIDIA_SMI_TIMEOUT_MS, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          resolve({
            visible: undefined,
            smiError: (String(stderr).trim() || err.message).split('\n')[0] ?? 'no output',
          });
        else
          resolve({
            visible: String(stdout)
              .split('\n')
              .filter((l) => l.trim() !== '').length,
          });
      },
    );
  });
}
