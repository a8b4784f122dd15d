import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
/**
 * `raysl logs <jobid>`: the entrypoint's output by default, one node's agent log with --node, the
 * controller's with --controller, the runtime's own kept logs with --runtime (listed, or one printed).
 * --follow keeps printing until the job is over (fs.watch + a backoff poll, so it works on NFS too).
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { waitFor } from '../../proc/poll.js';
import { globalsOf, type Register } from '../app.js';
import { jobIdOrLatest, jobOver, jobRoot, locateJob, lookJob, readStatus } from '../jobs.js';
import { readFrom, tailFile, type Tail } from '../tail.js';
import { formatKept, keptRuntimeLogs, nodesWithRuntimeLogs, noneHint, pickKeptFile } from '../runtime-logs.js';
import { writeJson, type Io } from '../io.js';
import type { JobPaths } from '../../core/jobdir.js';

export const registerLogs: Register = (program, app) => {
  program
    .command('logs')
    .description(
      "print a job's logs: the entrypoint's output (default), an agent's, the controller's, or the runtime's kept logs",
    )
    .argument('[jobid]', 'Slurm job id or local-<time>-<pid> (default: the newest job in the job dir)')
    .option('--node <name>', "that node's agent log (agent-<node>.log)")
    .option('--controller', "the controller's log")
    .option(
      '--runtime [file]',
      "the runtime's own logs kept at teardown (Ray's session logs): list them, or print one (raylet.out or its listed path; needs --node)",
    )
    .option('-f, --follow', 'keep printing as the log grows, until the job is over')
    .option('--job-dir <dir>', 'parent of per-job directories (default: as submit, ./raysl-jobs)')
    .addHelpText(
      'after',
      `
Examples:
  $ raysl logs 1234                   # entrypoint output so far (a raysl up cluster: each exec's, in order)
  $ raysl logs 1234 --follow          # and everything after, until the job ends
  $ raysl logs 1234 --node node3      # node3's agent (and its runtime)
  $ raysl logs 1234 --controller      # joins, teardown, errors
  $ raysl logs 1234 --runtime         # every node's kept Ray logs: node, bytes, path
  $ raysl logs 1234 --node node3 --runtime raylet.out`,
    )
    .action(
      async (
        id: string | undefined,
        opts: { node?: string; controller?: boolean; runtime?: string | true; follow?: boolean; jobDir?: string },
        command: Command,
      ) => {
        const io = app.io;
        if (opts.node !== undefined && opts.controller) {
          throw new UsageError('--node and --controller name different logs: received both', {
            hint: 'pick one; without either you get the entrypoint output',
          });
        }
        if (opts.runtime !== undefined && (opts.controller || opts.follow)) {
          throw new UsageError(
            `--runtime with ${opts.controller ? '--controller' : '--follow'}: the runtime's logs are kept once, at teardown`,
            {
              hint: 'use --runtime alone (with --node for one node); follow a running node with --node <name> --follow',
            },
          );
        }
        const json = globalsOf(command).json === true;
        if (json && opts.follow) {
          throw new UsageError('--json with --follow: a followed log is a stream, not one JSON document', {
            hint: 'drop --json to follow the log, or drop --follow for a JSON snapshot of the logs so far',
          });
        }
        const root = await jobRoot(opts.jobDir, io);
        const job = await locateJob(jobIdOrLatest(id, root, io), root, io);
        if (!existsSync(job.paths.dir)) {
          throw new UsageError(
            `no job directory for job ${job.jobId}: looked in ${job.paths.dir} and where Slurm ran its script`,
            {
              hint: 'pass --job-dir with the directory the job was submitted with, or list jobs with `raysl ls --all`',
            },
          );
        }
        if (opts.runtime !== undefined) return printRuntimeLogs(job, opts.node, opts.runtime, json, io);
        const file = opts.controller
          ? job.paths.controllerLog
          : opts.node !== undefined
            ? job.paths.agentLog(opts.node)
            : job.paths.entrypointLog;
        const write = (b: Buffer) => void io.stdout.write(b);
        if (!opts.follow) {
          const status = readStatus(job.paths);
          if (opts.node !== undefined && status && !status.nodes.some((n) => n.name === opts.node)) {
            throw new UsageError(`job ${job.jobId} has no node ${opts.node}`, {
              hint: `its nodes: ${status.nodes.map((n) => n.name).join(', ')}`,
            });
          }
          // a cluster from `raysl up` has no entrypoint: its output is each `raysl exec`'s, in order
          const execs = file === job.paths.entrypointLog && !existsSync(file) ? execLogs(job.paths.dir) : [];
          if (json)
            return writeJson(io, {
              jobId: job.jobId,
              logs: await logTexts(execs.length > 0 ? execs.map((e) => e.path) : [file]),
            });
          for (const e of execs) {
            io.stderr.write(`== exec ${e.n} (${e.path})\n`);
            await readFrom(e.path, 0, write);
          }
          if (execs.length === 0) await readFrom(file, 0, write);
          return;
        }
        // a raysl up cluster has no entrypoint.log: follow each exec's log as it appears
        const followsExecs = file === job.paths.entrypointLog && holdsForExec(job.paths.plan);
        const tails = new Map<string, Tail>();
        const discover = (): void => {
          for (const e of followsExecs ? execLogs(job.paths.dir) : [{ n: 0, path: file }]) {
            if (tails.has(e.path)) continue;
            if (followsExecs) io.stderr.write(`== exec ${e.n} (${e.path})\n`);
            tails.set(e.path, tailFile(e.path, write));
          }
        };
        // over when the controller says so, or when the facts do (a controller that died says nothing);
        // a follow has no deadline of its own: it lasts as long as the job (or until Ctrl-C)
        await waitFor(
          async () => {
            discover();
            return jobOver(await lookJob(job, io));
          },
          { timeoutMs: Infinity, intervalMs: 100, maxIntervalMs: 1000, now: io.now },
        );
        discover();
        for (const tail of tails.values()) await tail.stop();
      },
    );
};

/** Each file's text so far ('' for one not written yet), for --json. */
async function logTexts(files: string[]): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for (const path of files) {
    const chunks: Buffer[] = [];
    await readFrom(path, 0, (b) => void chunks.push(b));
    out.push({ path, text: Buffer.concat(chunks).toString('utf8') });
  }
  return out;
}

/** A cluster from raysl up (plan.json has no entrypoint): its output is its execs'. */
function holdsForExec(planFile: string): boolean {
  try {
    return (JSON.parse(readFileSync(planFile, 'utf8')) as { entrypoint?: unknown }).entrypoint === null;
  } catch {
    return false;
  }
}

/** exec-<n>.log of a held cluster, in run order. */
function execLogs(dir: string): Array<{ n: number; path: string }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: /^exec-(\d+)\.log$/.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ n: Number(x.m![1]), path: join(dir, x.name) }))
    .sort((a, b) => a.n - b.n);
}

/** --runtime: the listing (all nodes, or --node's), or with a file name that node's file. */
async function printRuntimeLogs(
  job: { jobId: string; paths: JobPaths },
  node: string | undefined,
  file: string | true,
  json: boolean,
  io: Io,
): Promise<void> {
  const status = readStatus(job.paths);
  if (node !== undefined && status && !status.nodes.some((n) => n.name === node)) {
    throw new UsageError(`job ${job.jobId} has no node ${node}`, {
      hint: `its nodes: ${status.nodes.map((n) => n.name).join(', ')}`,
    });
  }
  const kept = keptRuntimeLogs(job.paths, node !== undefined ? [node] : nodesWithRuntimeLogs(job.paths));
  if (file !== true) {
    if (node === undefined)
      throw new UsageError(`--runtime ${file}: which node's? received no --node`, {
        hint: `e.g. raysl logs ${job.jobId} --node <name> --runtime ${file}`,
      });
    await readFrom(
      join(job.paths.runtimeLogs(node), pickKeptFile(kept, node, file, job.jobId)),
      0,
      (b) => void io.stdout.write(b),
    );
    return;
  }
  if (json) return writeJson(io, { jobId: job.jobId, dir: join(job.paths.dir, 'runtime-logs'), files: kept });
  if (kept.length === 0) {
    throw new UsageError(`job ${job.jobId} kept no runtime logs${node !== undefined ? ` for node ${node}` : ''}`, {
      hint: noneHint(job.jobId, node),
    });
  }
  io.stdout.write(formatKept(kept));
}
