/**
 * `raysl ls`: this user's raysl jobs. Live Slurm jobs come from squeue (a port record in the
 * Comment, or a directory in the job dir); live local jobs (`raysl run --local`) from the job dir;
 * --all adds finished and lost jobs found only in the job dir. When Slurm cannot be asked, the job
 * dir alone answers (and ls says so).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SlurmError } from '../../core/errors.js';
import { isLocalJobId, jobPaths } from '../../core/jobdir.js';
import { compressHostlist } from '../../core/nodelist.js';
import { formatBlock, parsePortRecord } from '../../core/ports.js';
import { isOver, reconcile, type LivenessFacts } from '../../core/reconcile.js';
import { listJobs, type SlurmJob } from '../../slurm/squeue.js';
import { globalsOf, type Register } from '../app.js';
import { writeJson, type Io } from '../io.js';
import { controllerFacts, currentUser, jobRoot, listJobDirs, readStatus, slurmOpts } from '../jobs.js';
import { ageSeconds, formatLs, type LsRow } from '../status-view.js';

/** squeue's view of this user's jobs, or undefined (after saying so) when Slurm cannot be asked. */
async function queueOrNothing(io: Io): Promise<SlurmJob[] | undefined> {
  try {
    return await listJobs({ user: currentUser(io) }, slurmOpts(io));
  } catch (err) {
    if (!(err instanceof SlurmError)) throw err;
    io.stderr.write(`Slurm not reachable: showing the job dir only (${err.message.split('\n')[0]})\n`);
    return undefined;
  }
}

export const registerLs: Register = (program, app) => {
  program
    .command('ls')
    .description("list your raysl jobs: id, name, state, nodes, port block, age")
    .option('-a, --all', 'also finished and lost jobs found in the job dir')
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
      const root = await jobRoot(opts.jobDir, io);
      const dirs = new Set(listJobDirs(root));
      const now = io.now();
      const rows: Array<{ row: LsRow; t: number }> = [];
      const queue = await queueOrNothing(io);
      for (const j of queue ?? []) {
        const block = parsePortRecord(j.comment);
        if (block === undefined && !dirs.has(j.id)) continue;
        const status = dirs.has(j.id) ? readStatus(jobPaths(root, j.id)) : undefined;
        const shown = status && reconcile(status, { slurm: { state: j.state, reason: j.reason } });
        const started = Date.parse(j.submitTime);
        const row: LsRow = {
          id: j.id,
          name: j.name,
          state: shown ? shown.state : j.state.toLowerCase(),
          nodes: j.nodelist || `(${j.reason})`,
          ports: block ? formatBlock(block) : '-',
          ...ageOf(started, now),
        };
        if (shown?.reason !== undefined) row.reason = shown.reason;
        rows.push({ row, t: Number.isNaN(started) ? 0 : started });
        dirs.delete(j.id);
      }
      for (const id of dirs) {
        const paths = jobPaths(root, id);
        const s = readStatus(paths);
        const facts: LivenessFacts = !s ? {} : isLocalJobId(id) ? controllerFacts(s) : queue ? { slurm: 'unlisted' } : {};
        const shown = s && reconcile(s, facts);
        // without --all: only what may still be running (a local job, or any job when Slurm is not reachable)
        if (!opts.all && (!shown || isOver(shown.state) || (!isLocalJobId(id) && queue))) continue;
        const started = s ? Date.parse(s.startedAt) : Number.NaN;
        const row: LsRow = {
          id,
          name: planName(paths.plan),
          state: shown?.state ?? 'unknown',
          nodes: s ? compressHostlist(s.nodes.map((n) => n.name)) : '-',
          ports: s?.portBlock ? formatBlock(s.portBlock) : '-',
          ...ageOf(started, now),
        };
        if (shown?.reason !== undefined) row.reason = shown.reason;
        rows.push({ row, t: Number.isNaN(started) ? 0 : started });
      }
      // newest first (Slurm ids and local ids do not compare as numbers)
      const sorted = rows.sort((a, b) => b.t - a.t || b.row.id.localeCompare(a.row.id)).map((r) => r.row);
      if (globalsOf(command).json) return writeJson(io, sorted);
      if (sorted.length === 0) {
        io.stderr.write(`no raysl jobs${opts.all ? ` (looked in ${queue ? 'squeue and ' : ''}${root})` : ' running (--all adds finished ones from the job dir)'}\n`);
        return;
      }
      io.stdout.write(formatLs(sorted));
    });
};

function ageOf(startedMs: number, nowMs: number): Pick<LsRow, 'age' | 'since'> {
  if (Number.isNaN(startedMs)) return { age: null, since: null };
  return { age: ageSeconds(startedMs, nowMs), since: new Date(startedMs).toISOString() };
}

/** The job name from plan.json ('-' when it is missing or unreadable). */
function planName(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { jobName?: string }).jobName ?? '-';
  } catch {
    return '-';
  }
}
