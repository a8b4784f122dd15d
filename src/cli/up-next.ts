/** What `raysl up` tells the user once a cluster is there. */
import type { Io } from './io.js';

/** The commands a user types next, for the message and for --json. */
export function nextCommands(jobId: string): { attach: string; exec: string; down: string } {
  return {
    attach: `eval "$(raysl attach ${jobId})"`,
    exec: `raysl exec ${jobId} -- python3 job.py`,
    down: `raysl down ${jobId}`,
  };
}

export function sayNext(io: Io, jobId: string, jobDir: string, how: string): void {
  const n = nextCommands(jobId);
  io.stderr.write(`${how} ${jobId}; job dir ${jobDir}\n  next: ${n.exec}\n        ${n.attach}\n        ${n.down}\n`);
}
