/** What `raysl up` tells the user once a cluster is there, and the wait until it holds (Slurm or local). */
import type { Io } from './io.js';
import { jobOver, lookJob, type JobRef } from './jobs.js';

/** The commands a user types next, for the message and for --json. */
export function nextCommands(jobId: string): { attach: string; exec: string; down: string } {
  return { attach: `eval "$(raysl attach ${jobId})"`, exec: `raysl exec ${jobId} -- python3 job.py`, down: `raysl down ${jobId}` };
}

export function sayNext(io: Io, jobId: string, jobDir: string, how: string): void {
  const n = nextCommands(jobId);
  io.stderr.write(`${how} ${jobId}; job dir ${jobDir}\n  next: ${n.exec}\n        ${n.attach}\n        ${n.down}\n`);
}

/** Polls status.json (and Slurm) with backoff until the cluster holds or the job is over. */
export async function waitHolding(job: JobRef, io: Io): Promise<{ holding: boolean; state: string }> {
  let interval = 100;
  for (;;) {
    const look = await lookJob(job, io);
    const state = look.shown?.state ?? look.slurm?.state.toLowerCase() ?? 'pending';
    if (look.status?.timeline.some((e) => e.phase === 'holding')) return { holding: true, state };
    if (jobOver(look)) return { holding: false, state };
    await new Promise((r) => setTimeout(r, interval));
    interval = Math.min(interval * 2, 1000);
  }
}
