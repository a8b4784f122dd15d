// Task round trip on the Slurm test cluster, in ONE 4-node job (raysl submit --follow), entrypoint
// tasks-entry.mjs, each measurement next to its baseline in the same job:
// - cluster.run(worker, ['true']) from the entrypoint on the head: 200 in a row, median/p90;
// - baseline: the same `true` as a Slurm step on that node (srun -N1 -n1 -w <worker> --overlap), 30 in a row;
// - 1,000 trivial tasks placed by the scheduler (1 CPU each, 4 nodes x 4 CPUs: 16 run at once), at most 64
//   submitted at once (the rest pending in the scheduler's queue): wall time and tasks/s.
// The machine is shared (2 cores, other engineers' tests): the 1-minute load average before and
// after is recorded with the numbers. BENCH_TASK_RUNS, BENCH_SRUN_RUNS, BENCH_BURST shrink a run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { stats, writeResult } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
const NODES = 4;
const JOB_DEADLINE_MS = 10 * 60_000;

if (spawnSync('bash', [join(root, 'scripts', 'dev-slurm.sh'), 'status'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('tasks bench: the test cluster is not up; run `scripts/dev-slurm.sh up` first\n');
  process.exit(1);
}
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle) || !existsSync(join(root, 'dist', 'entry-hooks.mjs'))) {
  spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
mkdirSync(join(labDir, 'jobs'), { recursive: true });
const jobRoot = mkdtempSync(join(labDir, 'jobs', 'tasksbench-'));

interface EntryResult {
  worker: string;
  nodes: string[];
  runMs: number[];
  srunMs: number[];
  burst: { tasks: number; concurrency: number; failed: number; wallMs: number; taskMs: number[] };
}

const loadBefore = os.loadavg()[0];
// -c 1: one CPU per node is all `true` needs, and leaves the shared cluster room for others' tests
const submit = spawnSync(
  process.execPath,
  [
    bundle,
    'submit',
    '--json',
    '--follow',
    '-N',
    String(NODES),
    '-c',
    '4',
    '--time',
    '15:00',
    '--job-dir',
    jobRoot,
    join(root, 'bench', 'tasks-entry.mjs'),
  ],
  {
    cwd: jobRoot,
    env: { ...process.env, SLURM_CONF: `${labDir}/etc/slurm.conf`, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: JOB_DEADLINE_MS,
  },
);
const loadAfter = os.loadavg()[0];
const summary = (() => {
  try {
    return JSON.parse(submit.stdout) as { jobId: string; jobDir: string; exitCode: number; summary: string };
  } catch {
    return undefined;
  }
})();
if (submit.status !== 0 || summary === undefined) {
  const id = summary?.jobId ?? /submitted job (\d+)/.exec(submit.stderr)?.[1];
  if (id !== undefined) spawnSync('scancel', [id], { env: { ...process.env, SLURM_CONF: `${labDir}/etc/slurm.conf` } });
  process.stderr.write(
    `tasks bench: the job failed (exit ${submit.status}${submit.error ? `, ${submit.error.message}` : ''})\n${submit.stderr}\n`,
  );
  process.exit(1);
}
const line = readFileSync(join(summary.jobDir, 'entrypoint.log'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{"bench":"tasks"'))
  .at(-1);
if (line === undefined) throw new Error(`no result line in ${join(summary.jobDir, 'entrypoint.log')}`);
const r = JSON.parse(line) as EntryResult;

const round = (x: number) => Math.round(x * 10) / 10;
writeResult('tasks', {
  jobId: summary.jobId,
  nodes: r.nodes,
  worker: r.worker,
  load1Before: round(loadBefore ?? NaN),
  load1After: round(loadAfter ?? NaN),
  clusterRunTrue: stats(r.runMs),
  baselineSrunStepTrue: stats(r.srunMs),
  burst: {
    tasks: r.burst.tasks,
    concurrency: r.burst.concurrency,
    placement: 'by the scheduler: cluster.run(argv), 1 CPU each, 16 CPUs in the job',
    failed: r.burst.failed,
    wallMs: round(r.burst.wallMs),
    tasksPerSec: round((r.burst.tasks / r.burst.wallMs) * 1000),
    perTask: stats(r.burst.taskMs),
  },
});
