/**
 * The Slurm join curve: for N = 4, 16, 64 nodes (BENCH_SIZES), batch script start -> all N agents
 * joined (the controller's status.json timeline, as slurm.bench.ts), next to two floors measured in
 * the same run inside an N-node batch job: `srun -N<N> --overlap true` (one srun fan-out) and
 * `srun -N<N> --overlap node -e 0` (the fan-out plus one Node start per node). BENCH_RUNS
 * repetitions per size (default 3), interleaved; medians go to bench/results/slurm-scale.json.
 *
 * Point it at a test cluster with at least max(N) nodes through RAYSL_SLURM_DIR, e.g.
 *   RAYSL_SLURM_DIR=/tmp/raysl-slurm64 node bench/run.mjs slurm-scale
 * (bring one up with scripts/dev-slurm.sh and RAYSL_SLURM_NODES='s64n[1-64]', see the README).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childCpuMs, stats, writeResult } from './lib.js';
import { poll, readMs } from './slurm-lib.js';
import { parseStatus, type JobStatus } from '../src/core/status.js';
import { submit } from '../src/slurm/sbatch.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const labDir = process.env.RAYSL_SLURM_DIR ?? '/tmp/raysl-slurm';
const conf = `${labDir}/etc/slurm.conf`;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = (process.env.BENCH_SIZES ?? '4,16,64').split(',').map(Number);
// generous: 64 agents on a loaded 2-core host take seconds; this only catches a hung job
const JOB_DEADLINE_MS = 300_000;

if (!SIZES.every((n) => Number.isInteger(n) && n >= 1) || !(RUNS >= 1)) {
  process.stderr.write(
    `slurm-scale bench: BENCH_SIZES must be node counts such as 4,16,64 and BENCH_RUNS a count (received '${process.env.BENCH_SIZES ?? ''}', '${process.env.BENCH_RUNS ?? ''}')\nhint: unset both for 4,16,64 and 3 runs\n`,
  );
  process.exit(2);
}
if (spawnSync('bash', [join(root, 'scripts', 'dev-slurm.sh'), 'status'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write(
    `slurm-scale bench: no test cluster is up in ${labDir}\nhint: RAYSL_SLURM_DIR=${labDir} RAYSL_SLURM_NODES='s64n[1-64]' scripts/dev-slurm.sh up (see README "The test cluster")\n`,
  );
  process.exit(2);
}
process.env.SLURM_CONF = conf;
const clusterNodes = Number(
  execFileSync('sinfo', ['-h', '-o', '%D'])
    .toString()
    .trim()
    .split('\n')
    .reduce((a, l) => a + Number(l), 0),
);
const biggest = Math.max(...SIZES);
if (!(biggest <= clusterNodes)) {
  process.stderr.write(
    `slurm-scale bench: N = ${biggest} needs ${biggest} nodes, the cluster in ${labDir} has ${clusterNodes}\nhint: set BENCH_SIZES (e.g. 4,16) or bring up a bigger cluster (RAYSL_SLURM_NODES)\n`,
  );
  process.exit(2);
}
const bundle = join(root, 'dist', 'raysl.mjs');
if (!existsSync(bundle)) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const benchRoot = mkdtempSync(join(labDir, 'jobs', 'scale-'));
// once all have joined, it writes the CPU every agent of the job has used so far
const entry = join(root, 'bench', 'slurm-scale-entry.mjs');

/** Waits until Slurm has forgotten the job's steps on every node, so the next run starts on idle nodes. */
async function jobLeftSqueue(jobId: string): Promise<void> {
  await poll(
    `job ${jobId} to leave squeue`,
    () => {
      // squeue -j exits non-zero once the job id is unknown (MinJobAge passed), empty while it is known but gone
      const r = spawnSync('squeue', ['-h', '-j', jobId, '-o', '%i'], { encoding: 'utf8' });
      return r.status !== 0 || r.stdout.trim() === '' ? true : undefined;
    },
    JOB_DEADLINE_MS,
  );
}

/** One fan-out over the allocation's N nodes, timed by the batch script itself. */
async function floorOnce(n: number, i: number, command: string, tag: string): Promise<number> {
  const dir = join(benchRoot, `floor-${n}-${i}-${tag}`);
  mkdirSync(dir);
  const script = join(dir, 'job.sh');
  const mark = join(dir, 'srun');
  writeFileSync(
    script,
    `#!/bin/bash\na=$(date +%s%3N); srun -N${n} --overlap ${command}; rc=$?; b=$(date +%s%3N)\necho "$a $b $rc" > ${mark}.tmp && mv ${mark}.tmp ${mark}\n`,
    { mode: 0o755 },
  );
  const jobId = await submit(script, [`--output=${join(dir, 'out.txt')}`, '-N', String(n)]);
  const [a, b, rc] = await poll(
    `the srun floor job (-N ${n})`,
    () => {
      try {
        return readFileSync(mark, 'utf8').trim().split(' ').map(Number);
      } catch {
        return undefined;
      }
    },
    JOB_DEADLINE_MS,
  );
  if (rc !== 0) throw new Error(`srun -N${n} --overlap ${command} exited ${rc}; see ${join(dir, 'out.txt')}`);
  await jobLeftSqueue(String(jobId));
  return (b as number) - (a as number);
}

interface Run {
  scriptToAllJoinedMs: number;
  /** script start -> the controller's first timeline entry (its Node start and the batch script's lines before it) */
  scriptToControllerMs: number;
  /** controller start -> its 'agents-launched' phase: both srun steps started AND the port block
   *  recorded in the job's Slurm Comment (scontrol); the agents start while the record is written */
  controllerToLaunchMs: number;
  /** 'agents-launched' -> first node joined (all probe one block before any starts, so the first
   *  join waits for the last agent's start) */
  launchToFirstJoinMs: number;
  /** first -> last node joined */
  firstToLastJoinMs: number;
  /** CPU (user + system) one agent used from its start until the entrypoint ran, averaged over the job's agents */
  agentCpuMs: number;
}

async function rayslOnce(n: number, i: number): Promise<Run> {
  const jobRoot = join(benchRoot, `raysl-${n}-${i}`);
  mkdirSync(jobRoot);
  const mark = join(jobRoot, 'batch-started');
  const cpuFile = join(jobRoot, 'agents-cpu.json');
  const out = execFileSync(
    process.execPath,
    [
      bundle,
      'submit',
      '--json',
      '-N',
      String(n),
      '--job-dir',
      jobRoot,
      '--join-timeout',
      '600',
      '--setup',
      `date +%s%3N > ${mark}`,
      entry,
      cpuFile,
    ],
    { cwd: benchRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const jobId = (JSON.parse(out.toString()) as { jobId: string }).jobId;
  const statusFile = join(jobRoot, jobId, 'status.json');
  const final = await poll(
    `raysl job ${jobId} (-N ${n}) to end`,
    (): JobStatus | undefined => {
      try {
        const s = parseStatus(readFileSync(statusFile, 'utf8'));
        return ['succeeded', 'failed', 'cancelled'].includes(s.state) ? s : undefined;
      } catch {
        return undefined;
      }
    },
    JOB_DEADLINE_MS,
  );
  if (final.exitCode !== 0)
    throw new Error(`bench job ${jobId} ended ${final.state} (exit ${final.exitCode}); see ${join(jobRoot, jobId)}`);
  const joins = final.timeline.filter((e) => e.phase === 'node-joined');
  if (joins.length !== n) throw new Error(`bench job ${jobId}: ${joins.length}/${n} joins`);
  const launched = final.timeline.find((e) => e.phase === 'agents-launched');
  if (!launched) throw new Error(`bench job ${jobId}: no agents-launched in its timeline`);
  const cpu = JSON.parse(readFileSync(cpuFile, 'utf8')) as { agents: number; cpuMs: number };
  if (cpu.agents !== n) throw new Error(`bench job ${jobId}: the entrypoint saw ${cpu.agents}/${n} agents in /proc`);
  const scriptStart = readMs(mark)!;
  const controllerStart = Date.parse(final.timeline[0]!.at) - final.timeline[0]!.t;
  const firstJoin = Math.min(...joins.map((e) => e.t));
  const lastJoin = Math.max(...joins.map((e) => e.t));
  await jobLeftSqueue(jobId);
  return {
    scriptToAllJoinedMs: controllerStart + lastJoin - scriptStart,
    scriptToControllerMs: controllerStart - scriptStart,
    controllerToLaunchMs: launched.t,
    launchToFirstJoinMs: firstJoin - launched.t,
    firstToLastJoinMs: lastJoin - firstJoin,
    agentCpuMs: cpu.cpuMs / n,
  };
}

/** CPU of one bare `node -e 0` (user + system), the floor under an agent's CPU. */
function bareNodeCpuMs(): number {
  const c0 = childCpuMs();
  const runs = 5;
  for (let i = 0; i < runs; i++) execFileSync(process.execPath, ['-e', '0']);
  return (childCpuMs() - c0) / runs;
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const sizes: Record<string, unknown> = {};
const curve: {
  n: number;
  joinedMs: number;
  srunTrueMs: number;
  srunNodeMs: number;
  overSrunTrue: number;
  overSrunNode: number;
}[] = [];
for (const n of SIZES) {
  const srunTrue: number[] = [];
  const srunNode: number[] = [];
  const runs: Run[] = [];
  // interleaved, so the floors and raysl see the same load and scheduler phase on average
  for (let i = 0; i < RUNS; i++) {
    srunTrue.push(await floorOnce(n, i, 'true', 'true'));
    srunNode.push(await floorOnce(n, i, `${process.execPath} -e 0`, 'node'));
    runs.push(await rayslOnce(n, i));
  }
  const pick = (k: keyof Run) => stats(runs.map((r) => r[k]));
  const joined = pick('scriptToAllJoinedMs');
  const t = stats(srunTrue);
  const nd = stats(srunNode);
  sizes[n] = {
    raysl: {
      batchScriptToAllJoinedMs: joined,
      batchScriptToControllerMs: pick('scriptToControllerMs'),
      controllerToAgentsLaunchedMs: pick('controllerToLaunchMs'),
      agentsLaunchedToFirstJoinMs: pick('launchToFirstJoinMs'),
      firstToLastJoinMs: pick('firstToLastJoinMs'),
      agentCpuMsPerNode: pick('agentCpuMs'),
    },
    srunTrueMs: t,
    srunNodeMs: nd,
  };
  curve.push({
    n,
    joinedMs: joined.medianMs,
    srunTrueMs: t.medianMs,
    srunNodeMs: nd.medianMs,
    overSrunTrue: ratio(joined.medianMs, t.medianMs),
    overSrunNode: ratio(joined.medianMs, nd.medianMs),
  });
  process.stdout.write(`-N ${n}: ${JSON.stringify(curve[curve.length - 1])}\n`);
}
const first = curve[0]!;
const last = curve[curve.length - 1]!;
writeResult('slurm-scale', {
  cluster: {
    dir: labDir,
    nodes: clusterNodes,
    cpusPerNodeConfigured: Number(execFileSync('sinfo', ['-h', '-o', '%c']).toString().trim().split('\n')[0]),
    hostCores: cpus().length,
  },
  runsPerSize: RUNS,
  bareNodeCpuMs: bareNodeCpuMs(),
  loadAverageAtEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  curve,
  growth: {
    from: first.n,
    to: last.n,
    joined: ratio(last.joinedMs, first.joinedMs),
    srunTrue: ratio(last.srunTrueMs, first.srunTrueMs),
    srunNode: ratio(last.srunNodeMs, first.srunNodeMs),
  },
  sizes,
  targets: { joinedGrowth4To64: 2 },
});
// every job has ended and left squeue; on a failure the directory stays for its logs
rmSync(benchRoot, { recursive: true, force: true });
