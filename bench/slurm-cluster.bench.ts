// Test-cluster and Slurm-wrapper timings, each next to a baseline measured in the same run:
// - `dev-slurm.sh up` cold (packages installed, 4 nodes) and warm (no-op), and `down`;
// - sbatch -> job RUNNING as seen through listJobs() polling, vs `srun -N1 true` (allocated at once);
// - listJobs() (our format + parser) vs a bare `squeue` call.
// It runs its own lab (separate dir, ports, node names and subnet, hence its own bridge and network
// namespaces) so it never disturbs the shared cluster.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { timeAsync, timeSync, writeResult } from './lib.js';
import { submit } from '../src/slurm/sbatch.js';
import { listJobs } from '../src/slurm/squeue.js';
import { cancel } from '../src/slurm/scancel.js';

const script = fileURLToPath(new URL('../scripts/dev-slurm.sh', import.meta.url));
const dir = '/tmp/raysl-slurm-bench';
const labEnv = {
  ...process.env,
  RAYSL_SLURM_DIR: dir,
  RAYSL_SLURM_NODES: 'bench[1-4]',
  RAYSL_SLURM_CTLD_PORT: '16990',
  RAYSL_SLURM_PORT_BASE: '17401',
  RAYSL_SLURM_SUBNET: '10.215.0',
};
const devSlurm = (cmd: string) =>
  execFileSync('bash', [script, cmd], { env: labEnv, stdio: ['ignore', 'ignore', 'ignore'] });

const down = timeSync(() => devSlurm('down'), 1, 0); // clean slate (no-op if nothing runs)
const upCold: number[] = [];
const downs: number[] = [];
for (let i = 0; i < 3; i++) {
  let t0 = performance.now();
  devSlurm('up');
  upCold.push(performance.now() - t0);
  t0 = performance.now();
  devSlurm('down');
  downs.push(performance.now() - t0);
}
devSlurm('up');
const upWarm = timeSync(() => devSlurm('up'), 5, 1);

process.env.SLURM_CONF = `${dir}/etc/slurm.conf`;
const deadline = (ms: number) => Date.now() + ms;
const jobScript = `${dir}/jobs/sleep.sh`;
writeFileSync(jobScript, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });

async function sbatchToRunning(): Promise<void> {
  const id = await submit(jobScript, ['--output=/dev/null']);
  const until = deadline(10_000);
  let interval = 20;
  for (;;) {
    const [job] = await listJobs({ jobIds: [id] });
    if (job?.state === 'RUNNING') break;
    if (Date.now() > until) throw new Error(`job ${id} not RUNNING within 10 s (state ${job?.state})`);
    await new Promise((r) => setTimeout(r, interval));
    interval = Math.min(interval * 2, 50);
  }
  await cancel({ jobId: id });
}

const sbatchStart = await timeAsync(sbatchToRunning, 5, 1);
const srunBaseline = await timeAsync(async () => execFileSync('srun', ['-N1', 'true']), 5, 1);
const listJobsTime = await timeAsync(() => listJobs({}), 20, 2);
const squeueBaseline = await timeAsync(async () => execFileSync('squeue', ['-h']), 20, 2);
devSlurm('down');

const ms = (xs: number[]) => xs.map((x) => Math.round(x));
writeResult('slurm-cluster', {
  nodes: 4,
  upColdMs: ms(upCold),
  downMs: ms(downs),
  upWarmNoop: upWarm,
  initialDown: down,
  sbatchToRunning: sbatchStart,
  baselineSrunN1True: srunBaseline,
  listJobs: listJobsTime,
  baselineBareSqueue: squeueBaseline,
});
