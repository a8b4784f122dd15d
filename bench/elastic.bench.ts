// Elastic clusters on the Slurm test cluster (issue 22): grow and shrink latency of a running
// `raysl up -N 2` cluster (builtin runtime), BENCH_ELASTIC_ROUNDS rounds (default 3) of
//   grow: `raysl grow <id> -N 2 --wait` from the request to both new nodes joined, split at the
//         satellite's own Slurm start (squeue StartTime, whole seconds) and at its batch step's report to
//         the controller (status.json startedAt, ms): queue time is Slurm's, the rest raysl's;
//   shrink: `raysl shrink <id> s<k>` with no work on the nodes, from the request to the command's
//         return (nodes drained and gone), and to the satellite leaving squeue.
// Baselines in the same run: `srun -N 2 -c 1 true` from the login node (a fresh 2-node allocation
// running one step), and `sbatch --wait` of a 2-node batch job that runs one srun step (what a
// satellite is before raysl does anything in it).
// The machine and the cluster are shared: the 1-minute load average is recorded with the numbers.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { stats, writeResult } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
const ROUNDS = Number(process.env.BENCH_ELASTIC_ROUNDS ?? 3);
const env = { ...process.env, SLURM_CONF: `${labDir}/etc/slurm.conf`, NO_COLOR: '1' };
const bundle = join(root, 'dist', 'raysl.mjs');
mkdirSync(join(labDir, 'jobs'), { recursive: true });
const jobRoot = mkdtempSync(join(labDir, 'jobs', 'elasticbench-'));

function raysl(args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bundle, ...args, '--job-dir', jobRoot], {
    cwd: jobRoot,
    env,
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/** Slurm's StartTime of a running job (squeue %S: whole seconds, this host's local time). */
function slurmStartMs(id: string): number {
  const out = spawnSync('squeue', ['-h', '-j', id, '-o', '%S'], { env, encoding: 'utf8' }).stdout.trim();
  return new Date(out).getTime();
}

function gone(id: string, deadlineMs: number): number {
  const t0 = performance.now();
  for (;;) {
    const out = spawnSync('squeue', ['-h', '-j', id, '-o', '%T'], { env, encoding: 'utf8' }).stdout.trim();
    if (out === '' || performance.now() - t0 > deadlineMs) return performance.now() - t0;
    spawnSync('sleep', ['0.05']);
  }
}

const up = raysl(['up', '-N', '2', '-c', '1', '-t', '20']);
const jobId = up.stdout.trim();
if (up.code !== 0 || !/^\d+$/.test(jobId)) {
  process.stderr.write(`elastic bench: raysl up failed (${up.code}): ${up.stderr}\n`);
  process.exit(1);
}
const loadBefore = os.loadavg()[0];
const grow: number[] = [];
const queue: number[] = [];
const afterSlurmStart: number[] = [];
const afterBatchStep: number[] = [];
const shrink: number[] = [];
const shrinkToGone: number[] = [];
const baseline: number[] = [];
const batchBaseline: number[] = [];
try {
  for (let k = 1; k <= ROUNDS; k++) {
    const requested = Date.now();
    const g = raysl(['grow', jobId, '-N', '2', '-c', '1', '--wait', '--json']);
    if (g.code !== 0) throw new Error(`grow failed (${g.code}): ${g.stderr}`);
    const sat = JSON.parse(g.stdout) as { id: string; slurmJobId: string; startedAt: string; joinedAt: string };
    const joined = Date.parse(sat.joinedAt);
    const slurmStart = slurmStartMs(sat.slurmJobId);
    grow.push(joined - requested);
    queue.push(slurmStart - requested);
    afterSlurmStart.push(joined - slurmStart);
    afterBatchStep.push(joined - Date.parse(sat.startedAt));
    const s = raysl(['shrink', jobId, sat.id]);
    if (s.code !== 0) throw new Error(`shrink failed (${s.code}): ${s.stderr}`);
    shrink.push(s.ms);
    shrinkToGone.push(s.ms + gone(sat.slurmJobId, 60_000));
    const t0 = performance.now();
    const b = spawnSync('srun', ['-N', '2', '-c', '1', '-t', '1', 'true'], { env, stdio: 'ignore' });
    if (b.status === 0) baseline.push(performance.now() - t0);
    const t1 = performance.now();
    const w = spawnSync(
      'sbatch',
      ['--wait', '-N', '2', '-c', '1', '-t', '1', '-o', '/dev/null', '--wrap', 'srun -N 2 -c 1 --overlap true'],
      { env, stdio: 'ignore' },
    );
    if (w.status === 0) batchBaseline.push(performance.now() - t1);
  }
} finally {
  raysl(['down', jobId]);
}
const loadAfter = os.loadavg()[0];
const round = (x: number) => Math.round(x * 10) / 10;
const status = JSON.parse(readFileSync(join(jobRoot, jobId, 'status.json'), 'utf8')) as { satellites?: unknown[] };
writeResult('elastic', {
  jobId,
  rounds: ROUNDS,
  runtime: 'builtin',
  load1Before: round(loadBefore ?? NaN),
  load1After: round(loadAfter ?? NaN),
  growRequestToJoined: stats(grow),
  growRequestToSlurmStart: {
    ...stats(queue),
    note: "squeue's StartTime has whole seconds: the split at Slurm's start is +-1 s",
  },
  growSlurmStartToJoined: stats(afterSlurmStart),
  growBatchStepToJoined: stats(afterBatchStep),
  shrinkRequestToReturn: stats(shrink),
  shrinkRequestToSlurmJobGone: stats(shrinkToGone),
  baselineSrunNewAllocationTrue: stats(baseline),
  baselineSbatchWaitWithOneStep: {
    ...stats(batchBaseline),
    note: 'sbatch --wait of a 2-node batch job running one srun step: submit -> the job ended (Slurm polls the end: an upper bound)',
  },
  satellites: status.satellites?.length,
});
