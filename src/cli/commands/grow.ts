/**
 * `raysl grow <jobid> -N <n>`: adds nodes to a running cluster with a satellite Slurm job (its
 * agents join with the job's token and a port block of their own). Returns once sbatch took it,
 * or with --wait once its nodes joined.
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { jobOptions } from '../../core/job-options.js';
import { parseCount } from '../../core/option-values.js';
import { parseSatellite, type GrowRequest, type SatelliteInfo } from '../../protocol/elastic.js';
import { globalsOf, type Register } from '../app.js';
import { elasticRequest } from '../elastic-request.js';
import { writeJson } from '../io.js';
import { liveJob } from '../live-job.js';

/** The job flags a satellite takes (its own shape; everything else is the running job's). */
const GROW_FLAGS = [
  'partition',
  'time',
  'gpusPerNode',
  'cpusPerTask',
  'mem',
  'constraint',
  'account',
  'qos',
  'containerImage',
] as const;

function growRequestFrom(opts: Record<string, unknown>): GrowRequest {
  if (opts.nodes === undefined)
    throw new UsageError('raysl grow needs -N <n>: how many nodes to add', { hint: 'e.g. raysl grow 1234 -N 2' });
  const req: Record<string, unknown> = { nodes: jobOptions.nodes.fromFlag(opts.nodes, '--nodes') };
  for (const key of GROW_FLAGS)
    if (opts[key] !== undefined)
      req[key] = jobOptions[key].fromFlag(opts[key], `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  return req as GrowRequest;
}

function said(s: SatelliteInfo): string {
  const where = s.nodes.length > 0 ? ` on ${s.nodes.join(',')}` : '';
  const joined = s.state === 'joined' ? `: ${s.joined.length} node(s) joined` : '';
  return `satellite ${s.id} (Slurm job ${s.slurmJobId ?? '?'}) ${s.state}${where}${joined}${s.why ? ` (${s.why})` : ''}`;
}

export const registerGrow: Register = (program, app) => {
  const cmd = program
    .command('grow')
    .description('add nodes to a running cluster: a satellite Slurm job whose agents join it')
    .argument('<jobid>', 'the running job (Slurm job id)')
    .option(jobOptions.nodes.flags, 'nodes to add');
  for (const key of GROW_FLAGS)
    cmd.option(
      jobOptions[key].flags,
      `${jobOptions[key].description.replace(/ \(default: [^)]*\)$/, '')} (default: the job's)`,
    );
  cmd
    .option('--wait', 'return once the new nodes joined (default: once Slurm queued the satellite)')
    .option('--wait-timeout <s>', 'longest --wait waits, in seconds (default 600)')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl grow 1234 -N 2                       # two more nodes of the job's shape
  $ raysl grow 1234 -N 4 -p gpu --gpus-per-node 8 -t 1:00:00 --wait
  $ raysl status 1234                          # each satellite: its Slurm id, nodes, state

The satellite's nodes join with the job's token and probe a port block of their own; the builtin
scheduler places tasks and placement groups there, Ray starts a worker that joins the head. It
ends with the cluster, or with raysl shrink. Exit 0 once queued (or joined with --wait); 3 when
sbatch refuses it; 2 for a job that is not running or not on Slurm.`,
    )
    .action(async (id: string, opts: Record<string, unknown>, command: Command) => {
      const req = growRequestFrom(opts);
      const waitSec =
        opts.waitTimeout !== undefined ? parseCount(String(opts.waitTimeout), '--wait-timeout', 1, 86_400) : 600;
      if (opts.wait === true) req.waitMs = waitSec * 1000;
      // a cluster still forming is waited for, as raysl exec does
      const live = await liveJob(id, opts.jobDir as string | undefined, app.io, { waitForHold: true });
      const sat = parseSatellite(await elasticRequest(live, 'POST', '/v1/satellites', req, (req.waitMs ?? 0) + 60_000));
      if (opts.wait === true && sat.state !== 'joined') {
        const err = new UsageError(`${said(sat)}: its nodes did not join within ${waitSec} s`, {
          hint: `raysl status ${live.job.jobId}; it keeps trying until it joins or raysl shrink ${live.job.jobId} ${sat.id}`,
        });
        if (sat.state === 'queued' || sat.state === 'joining') throw err;
        throw new UsageError(said(sat), {
          hint: `raysl status ${live.job.jobId}; its batch log: ${live.job.paths.dir}/satellite-${sat.id}.out`,
        });
      }
      if (globalsOf(command).json) return writeJson(app.io, sat);
      app.io.stdout.write(`${said(sat)}\n`);
    });
};
