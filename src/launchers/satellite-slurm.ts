/**
 * The Slurm side of satellites (controller/elastic.ts SatelliteSlurm): sbatch a satellite's script,
 * scancel it, ask squeue about it, and read and record port blocks on its nodes as the srun
 * launcher does for the job itself (the block goes into the satellite's own Comment).
 */
import { expandHostlist } from '../core/nodelist.js';
import { parsePortRecord, withPortRecord } from '../core/ports.js';
import type { PortBlock } from '../core/types.js';
import type { SatelliteSlurm } from '../controller/elastic.js';
import { submit } from '../slurm/sbatch.js';
import { cancel } from '../slurm/scancel.js';
import { updateJobComment } from '../slurm/scontrol.js';
import { listJobs } from '../slurm/squeue.js';
import type { SlurmRunOptions } from '../slurm/exec.js';

/** Job states in which a job's processes may hold its ports (as the srun launcher reads them). */
const HOLDING_STATES = ['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED'];

export function satelliteSlurm(opts: SlurmRunOptions): SatelliteSlurm {
  const comments = new Map<string, string>();
  return {
    submit: (scriptPath) => submit(scriptPath, [], opts),
    async cancel(slurmJobId) {
      try {
        await cancel({ jobId: slurmJobId }, opts);
      } catch (err) {
        // a job Slurm already ended (and forgot) needs no cancel
        if (!/Invalid job id|already completing or completed/i.test((err as Error).message)) throw err;
      }
    },
    async look(ids) {
      const jobs = await listJobs({ jobIds: ids }, opts);
      return new Map(jobs.map((j) => [j.id, { state: j.state, reason: j.reason, startTime: j.startTime }]));
    },
    async takenBlocks(slurmJobId, nodes) {
      const ours = new Set(nodes);
      const blocks: PortBlock[] = [];
      for (const job of await listJobs({ states: HOLDING_STATES }, opts)) {
        if (job.id === slurmJobId) {
          comments.set(slurmJobId, job.comment);
          continue;
        }
        const block = parsePortRecord(job.comment);
        if (block !== undefined && job.nodelist !== '' && expandHostlist(job.nodelist).some((n) => ours.has(n)))
          blocks.push(block);
      }
      return blocks;
    },
    recordBlock: (slurmJobId, block) =>
      updateJobComment(slurmJobId, withPortRecord(comments.get(slurmJobId) ?? '', block), opts),
  };
}
