// The entrypoint of the task round-trip bench (tasks.bench.ts submits it as one 4-node job).
// Measures from the head, in this one job, and prints one JSON line of raw samples (ms):
//  runMs   cluster.run(worker, ['true']), one after another (RUNS, after WARMUP untimed);
//  srunMs  the same command as a Slurm step on the same node: srun -N1 -n1 -w <worker> --overlap true;
//  burst   BURST trivial tasks placed by the scheduler (1 CPU each), at most CONCURRENCY submitted at once: wall time.
import { execFile } from 'node:child_process';
import { connect } from 'raysl';

const RUNS = Number(process.env.BENCH_TASK_RUNS ?? 200);
const SRUN_RUNS = Number(process.env.BENCH_SRUN_RUNS ?? 30);
const BURST = Number(process.env.BENCH_BURST ?? 1000);
const CONCURRENCY = 64;
const WARMUP = 5;

const cluster = await connect();
const nodes = await cluster.nodes();
const worker = nodes.find((n) => n.role !== 'head');
if (worker === undefined)
  throw new Error(`the task bench needs a worker node; the job has ${nodes.map((n) => n.name).join(', ')}`);

/** One trivial task placed by the scheduler (1 CPU, Ray's task default): what a user writes. */
function runTask(_i, argv) {
  return cluster.run(argv);
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function runTrue(node) {
  const r = await cluster.run(node, ['true']);
  if (r.exitCode !== 0) throw new Error(`true on ${node} exited ${r.exitCode}: ${r.stderr}`);
}

function srunTrue(node) {
  return new Promise((resolve, reject) =>
    execFile('srun', ['-N1', '-n1', '-w', node, '--overlap', 'true'], (err, _stdout, stderr) =>
      err ? reject(new Error(`srun -w ${node} true: ${err.message} ${stderr}`)) : resolve(),
    ),
  );
}

async function samples(n, fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const out = [];
  for (let i = 0; i < n; i++) out.push(await timed(fn));
  return out;
}

const runMs = await samples(RUNS, () => runTrue(worker.name));
const srunMs = await samples(SRUN_RUNS, () => srunTrue(worker.name));

// a pool of CONCURRENCY workers pulling the next index: never more than CONCURRENCY in flight
let next = 0;
let failed = 0;
const taskMs = [];
const burstMs = await timed(() =>
  Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, BURST) }, async () => {
      for (let i = next++; i < BURST; i = next++) {
        const t0 = performance.now();
        const r = await runTask(i, ['true']);
        taskMs.push(performance.now() - t0);
        if (r.exitCode !== 0) failed++;
      }
    }),
  ),
);
cluster.close();

console.log(
  JSON.stringify({
    bench: 'tasks',
    worker: worker.name,
    nodes: nodes.map((n) => n.name),
    runMs,
    srunMs,
    burst: { tasks: BURST, concurrency: CONCURRENCY, failed, wallMs: burstMs, taskMs },
  }),
);
