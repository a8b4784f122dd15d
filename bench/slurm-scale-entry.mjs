// The entrypoint of the Slurm join-curve bench (slurm-scale.bench.ts). Runs once all agents joined
// and writes to argv[2] the CPU (user + system) every agent of this job has used so far: all test
// nodes live on this one host, so /proc shows every node's agent. One JSON line: { agents, cpuMs }.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const out = process.argv[2];
const jobId = process.env.SLURM_JOB_ID;
if (!out || !jobId) throw new Error('usage: slurm-scale-entry.mjs <out.json> (inside a Slurm job)');
const TICK_MS = 10; // /proc/<pid>/stat counts clock ticks (USER_HZ = 100 on Linux)

let agents = 0;
let ticks = 0;
for (const pid of readdirSync('/proc')) {
  if (!/^\d+$/.test(pid)) continue;
  try {
    if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`SLURM_JOB_ID=${jobId}`)) continue;
    // the agents themselves, not the srun processes that started them (same environment and argv words)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (!stat.includes('(node)') || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('agent'))
      continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
    agents++;
  } catch {
    // gone while we looked, or not readable
  }
}
writeFileSync(`${out}.tmp`, JSON.stringify({ agents, cpuMs: ticks * TICK_MS }) + '\n');
renameSync(`${out}.tmp`, out);
