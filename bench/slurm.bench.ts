// A raysl job on the real test cluster (needs `scripts/dev-slurm.sh up`), measured against a baseline
// taken in the same run:
// - baseline: sbatch -> first line of a trivial batch script (Slurm's own start latency);
// - raysl: `raysl submit` (CLI start, sinfo facts, render, sbatch) -> batch script start, batch script start ->
//   all 4 agents joined (status.json timeline; target < 1 s), and entrypoint exit -> every process
//   of the job gone on every node (a /proc scan for SLURM_JOB_ID; target < 1 s).
// - the floor: `srun -N4 --overlap true` inside a batch job of the same kind (-N 4, 1 GPU per node),
//   timed by the batch script itself: one srun fan-out, what raysl's launch cannot beat; the ratio
//   batch start -> all joined over it is the figure to watch (target <= 2.5x).
// The seed script's fixed waits (sleep 15, then sleep 5 per worker) are modelled, not measured.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stats, writeResult } from './lib.js';
import { poll, readMs } from './slurm-lib.js';
import { parseStatus, type JobStatus } from '../src/core/status.js';
import { submit } from '../src/slurm/sbatch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
const conf = `${labDir}/etc/slurm.conf`;
const NODES = 4;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

if (spawnSync('bash', [join(root, 'scripts', 'dev-slurm.sh'), 'status'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('slurm bench: the test cluster is not up; run `scripts/dev-slurm.sh up` first\n');
  process.exit(1);
}
process.env.SLURM_CONF = conf;
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle)) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const benchRoot = mkdtempSync(join(labDir, 'jobs', 'bench-'));

/** Pids of live, non-zombie processes carrying this job's SLURM_JOB_ID (all nodes share this host). */
function jobPids(jobId: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/^State:\s*Z/m.test(readFileSync(`/proc/${e}/status`, 'utf8'))) continue;
      const env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      if (env.includes(`SLURM_JOB_ID=${jobId}`) && env.includes(`SLURM_CONF=${conf}`)) pids.push(Number(e));
    } catch {
      // gone while we looked, or not readable
    }
  }
  return pids;
}

// ---- baseline: sbatch -> the first line of a trivial batch script
async function baselineOnce(i: number): Promise<number> {
  const dir = join(benchRoot, `baseline-${i}`);
  mkdirSync(dir);
  const script = join(dir, 'job.sh');
  const mark = join(dir, 'started');
  writeFileSync(script, `#!/bin/sh\ndate +%s%3N > ${mark}.tmp && mv ${mark}.tmp ${mark}\n`, { mode: 0o755 });
  const t0 = Date.now();
  await submit(script, ['--output=/dev/null', '-N', '1']);
  const started = await poll('the baseline script to start', () => readMs(mark));
  return started - t0;
}

// ---- floor: one srun fan-out over the allocation's 4 nodes, timed inside a batch job like raysl's
async function srunFloorOnce(i: number, command: string): Promise<number> {
  const dir = join(benchRoot, `srun-${i}-${command === 'true' ? 'true' : 'node'}`);
  mkdirSync(dir);
  const script = join(dir, 'job.sh');
  const mark = join(dir, 'srun');
  writeFileSync(
    script,
    `#!/bin/bash\na=$(date +%s%3N); srun -N${NODES} --overlap ${command}; rc=$?; b=$(date +%s%3N)\necho "$a $b $rc" > ${mark}.tmp && mv ${mark}.tmp ${mark}\n`,
    { mode: 0o755 },
  );
  await submit(script, [`--output=${join(dir, 'out.txt')}`, '-N', String(NODES), '--gpus-per-node=1']);
  const [a, b, rc] = await poll('the srun floor job', () => {
    try {
      return readFileSync(mark, 'utf8').trim().split(' ').map(Number);
    } catch {
      return undefined;
    }
  });
  if (rc !== 0) throw new Error(`srun -N${NODES} --overlap ${command} exited ${rc}; see ${join(dir, 'out.txt')}`);
  return (b as number) - (a as number);
}

// ---- raysl: a 4-node train.ts job through `raysl submit`
interface RayslRun {
  submitToScriptMs: number;
  scriptToAllJoinedMs: number;
  submitToAllJoinedMs: number;
  controllerToAllJoinedMs: number;
  entrypointExitToAllGoneMs: number;
}

async function rayslOnce(i: number): Promise<RayslRun> {
  const jobRoot = join(benchRoot, `raysl-${i}`);
  mkdirSync(jobRoot);
  const mark = join(jobRoot, 'batch-started');
  const t0 = Date.now();
  // the --setup line runs first in the batch script, before the controller starts
  const out = execFileSync(
    process.execPath,
    [
      bundle,
      'submit',
      '--json',
      '-N',
      String(NODES),
      '--gpus-per-node',
      '1',
      '--job-dir',
      jobRoot,
      '--setup',
      `date +%s%3N > ${mark}`,
      join(root, 'examples', 'train.ts'),
    ],
    { cwd: benchRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const jobId = (JSON.parse(out.toString()) as { jobId: string }).jobId;
  const statusFile = join(jobRoot, jobId, 'status.json');
  const readStatus = (): JobStatus | undefined => {
    try {
      return parseStatus(readFileSync(statusFile, 'utf8'));
    } catch {
      return undefined;
    }
  };
  // every raysl process gone: poll /proc from the moment the entrypoint has exited
  const exited = await poll('entrypoint exit', () =>
    readStatus()?.timeline.find((e) => e.phase === 'entrypoint-exited'),
  );
  const allGoneAt = await poll('every job process to exit', () =>
    jobPids(jobId).length === 0 ? Date.now() : undefined,
  );
  const final = await poll('the final status', () => {
    const s = readStatus();
    return s && ['succeeded', 'failed', 'cancelled'].includes(s.state) ? s : undefined;
  });
  if (final.exitCode !== 0)
    throw new Error(`bench job ${jobId} ended ${final.state} (exit ${final.exitCode}); see ${join(jobRoot, jobId)}`);
  const joins = final.timeline.filter((e) => e.phase === 'node-joined');
  if (joins.length !== NODES) throw new Error(`bench job ${jobId}: ${joins.length}/${NODES} joins`);
  const lastJoin = Math.max(...joins.map((e) => Date.parse(e.at)));
  const scriptStart = readMs(mark)!;
  return {
    submitToScriptMs: scriptStart - t0,
    scriptToAllJoinedMs: lastJoin - scriptStart,
    submitToAllJoinedMs: lastJoin - t0,
    controllerToAllJoinedMs: Math.max(...joins.map((e) => e.t)),
    entrypointExitToAllGoneMs: allGoneAt - Date.parse(exited.at),
  };
}

const baseline: number[] = [];
const floor: number[] = [];
const floorNode: number[] = [];
const runs: RayslRun[] = [];
// interleave, so both see the same phase of slurmctld's 1 s scheduling tick on average
for (let i = 0; i < RUNS; i++) {
  baseline.push(await baselineOnce(i));
  floor.push(await srunFloorOnce(i, 'true'));
  floorNode.push(await srunFloorOnce(i, `${process.execPath} -e 0`));
  runs.push(await rayslOnce(i));
}
const pick = (k: keyof RayslRun) => stats(runs.map((r) => r[k]));

const joined = pick('scriptToAllJoinedMs');
const srunFloor = stats(floor);
const srunNodeFloor = stats(floorNode);
const seedFixedWaitS = 15 + 5 * (NODES - 1);
const result = {
  nodes: NODES,
  runs: RUNS,
  baseline: {
    sbatchToFirstLineMs: stats(baseline),
    srunFanOutMs: srunFloor,
    srunFanOutCommand: `srun -N${NODES} --overlap true (inside a -N ${NODES} --gpus-per-node=1 batch job)`,
  },
  batchScriptToAllJoinedOverSrunFanOut: Math.round((joined.medianMs / srunFloor.medianMs) * 100) / 100,
  // the floor: one fan-out plus one Node start per node
  srunNodeFanOutMs: srunNodeFloor,
  batchScriptToAllJoinedOverSrunNodeFanOut: Math.round((joined.medianMs / srunNodeFloor.medianMs) * 100) / 100,
  raysl: {
    submitCommandToBatchScriptMs: pick('submitToScriptMs'),
    batchScriptToAllJoinedMs: joined,
    controllerStartToAllJoinedMs: pick('controllerToAllJoinedMs'),
    submitCommandToAllJoinedMs: pick('submitToAllJoinedMs'),
    entrypointExitToAllProcessesGoneMs: pick('entrypointExitToAllGoneMs'),
  },
  targets: {
    batchScriptToAllJoinedOverSrunFanOut: 2.5,
    batchScriptToAllJoinedMs: 1000,
    entrypointExitToAllProcessesGoneMs: 1000,
  },
  seedScriptModel: {
    note: 'not measured: the seed sbatch script (reference/seeds/ray-on-slurm.txt) sleeps 15 s after starting the head and 5 s after each worker',
    fixedWaitS: seedFixedWaitS,
    formula: '15 + 5 * (nodes - 1)',
  },
};
writeResult('slurm', result);
