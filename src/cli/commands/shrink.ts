/**
 * `raysl shrink <jobid> <node|satellite>...`: drains those nodes (nothing new is placed there;
 * running work gets --drain-timeout to finish, then is stopped and retried elsewhere where it
 * may), stops their agents and ends the satellites left without nodes. Waits until done.
 */
import type { Command } from 'commander';
import { parseCount } from '../../core/option-values.js';
import { parseSatellites } from '../../protocol/elastic.js';
import { globalsOf, type Register } from '../app.js';
import { elasticRequest } from '../elastic-request.js';
import { writeJson } from '../io.js';
import { liveJob } from '../live-job.js';
import { satelliteLines } from '../status-view.js';

export const registerShrink: Register = (program, app) => {
  program
    .command('shrink')
    .description("give nodes back: drain a satellite's nodes, stop their agents, end the satellite")
    .argument('<jobid>', 'the running job (Slurm job id)')
    .argument('<targets...>', 'satellites (s1, or its Slurm job id) and/or nodes of satellites')
    .option('--drain-timeout <s>', 'seconds running work may take to finish before it is stopped (default 30)')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl shrink 1234 s1                       # the whole satellite s1
  $ raysl shrink 1234 node3 --drain-timeout 120

Nodes of the job's own allocation cannot be shrunk (exit 2). Exit 0 once every target left.`,
    )
    .action(
      async (id: string, targets: string[], opts: { drainTimeout?: string; jobDir?: string }, command: Command) => {
        const drainSec =
          opts.drainTimeout !== undefined ? parseCount(opts.drainTimeout, '--drain-timeout', 0, 86_400) : 30;
        const live = await liveJob(id, opts.jobDir, app.io, { waitForHold: true });
        const body = { targets, drainTimeoutMs: drainSec * 1000 };
        const answer = parseSatellites(
          await elasticRequest(live, 'POST', '/v1/shrink', body, drainSec * 1000 + 120_000),
        );
        if (globalsOf(command).json) return writeJson(app.io, { jobId: live.job.jobId, ...answer });
        const lines = satelliteLines(answer);
        app.io.stdout.write(`shrunk ${targets.join(' ')}\n${lines.join('\n')}\n`);
      },
    );
};
