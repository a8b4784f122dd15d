/**
 * `raysl ls`: this user's raysl jobs. Live ones come from squeue (a port record in the Comment, or
 * a directory in the job dir); --all adds finished jobs found only in the job dir.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compressHostlist } from '../core/nodelist.js';
import { formatBlock, parsePortRecord } from '../core/ports.js';
import { jobPaths } from '../core/jobdir.js';
import { listJobs } from '../slurm/squeue.js';
import { globalsOf, type Register } from './app.js';
import { writeJson } from './io.js';
import { currentUser, jobRoot, listJobDirs, readStatus, slurmOpts } from './jobs.js';
import { age, formatLs, type LsRow } from './status-view.js';

export const registerLs: Register = (program, app) => {
  program
    .command('ls')
    .description("list your raysl jobs: id, name, state, nodes, port block, age")
    .option('-a, --all', 'also finished jobs found in the job dir')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl ls
  $ raysl ls --all --job-dir ~/raysl-jobs
  $ raysl ls --json | jq -r '.[] | select(.state=="running") | .id'`,
    )
    .action(async (opts: { all?: boolean; jobDir?: string }, command: Command) => {
      const io = app.io;
      const root = jobRoot(opts.jobDir, io);
      const dirs = new Set(listJobDirs(root));
      const now = io.now();
      const rows: LsRow[] = [];
      for (const j of await listJobs({ user: currentUser(io) }, slurmOpts(io))) {
        const block = parsePortRecord(j.comment);
        if (block === undefined && !dirs.has(j.id)) continue;
        const status = dirs.has(j.id) ? readStatus(jobPaths(root, j.id)) : undefined;
        const started = Date.parse(j.submitTime);
        rows.push({
          id: j.id,
          name: j.name,
          state: status && j.state === 'RUNNING' ? status.state : j.state.toLowerCase(),
          nodes: j.nodelist || `(${j.reason})`,
          ports: block ? formatBlock(block) : '-',
          age: Number.isNaN(started) ? '?' : age(started, now),
        });
        dirs.delete(j.id);
      }
      if (opts.all) {
        for (const id of dirs) {
          const s = readStatus(jobPaths(root, id));
          rows.push({
            id,
            name: planName(jobPaths(root, id).plan),
            state: s?.state ?? 'unknown',
            nodes: s ? compressHostlist(s.nodes.map((n) => n.name)) : '-',
            ports: s?.portBlock ? formatBlock(s.portBlock) : '-',
            age: s ? age(Date.parse(s.startedAt), now) : '?',
          });
        }
      }
      rows.sort((a, b) => Number(b.id) - Number(a.id));
      if (globalsOf(command).json) return writeJson(io, rows);
      if (rows.length === 0) {
        io.stderr.write(`no raysl jobs${opts.all ? ` (looked in squeue and ${root})` : ' in the queue (--all adds finished ones from the job dir)'}\n`);
        return;
      }
      io.stdout.write(formatLs(rows));
    });
};

/** The job name from plan.json ('-' when it is missing or unreadable). */
function planName(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { jobName?: string }).jobName ?? '-';
  } catch {
    return '-';
  }
}
