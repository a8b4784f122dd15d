/**
 * `raysl check-ports`: the preflight of DESIGN.md "Ports". Collects the facts (raysl jobs already
 * on the asked nodes and their recorded blocks, the ephemeral range, optionally a bind-probe of
 * this host), runs the same allocator and checks the controller runs, and prints the verdict.
 * Exit 0 when clean, 1 on any collision (each explained in one sentence), 3 when Slurm is not
 * reachable (unless --no-slurm).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { ExitCode, SlurmError, UsageError } from '../../core/errors.js';
import { expandHostlist } from '../../core/nodelist.js';
import { LIMITS } from '../../core/option-values.js';
import {
  blockPorts,
  checkPorts,
  HOLDING_STATES,
  parseEphemeral,
  withProbe,
  type CheckPortsOptions,
  type CheckPortsReport,
  type PortCheckFacts,
} from '../../core/port-check.js';
import { probePorts } from '../../agent/port-probe.js';
import { listJobs } from '../../slurm/squeue.js';
import { isSlurmJobId, parseScontrolRecords, parseShowNodes, type SlurmNode } from '../../slurm/scontrol.js';
import { runSlurm, type SlurmRunOptions } from '../../slurm/exec.js';
import { globalsOf, type Register } from '../app.js';
import { checkPortsLines } from '../check-ports-view.js';
import { painter, writeJson, writeLine } from '../io.js';

const EPHEMERAL_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Linux's default, used only when the file cannot be read (not Linux, or a sandbox). */
const LINUX_DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];

async function readEphemeral(): Promise<{ range: [number, number]; source: string }> {
  try {
    const parsed = parseEphemeral(await readFile(EPHEMERAL_FILE, 'utf8'));
    if (parsed) return { range: parsed, source: EPHEMERAL_FILE };
  } catch {
    // fall through to the default, said in the notes
  }
  return { range: LINUX_DEFAULT_EPHEMERAL, source: `Linux default (${EPHEMERAL_FILE} unreadable)` };
}

/** Nodes of a partition: `scontrol show partition` gives its hostlist. */
async function partitionNodes(partition: string, opts: SlurmRunOptions): Promise<string> {
  const records = parseScontrolRecords(
    await runSlurm(['scontrol', 'show', 'partition', '--oneliner', partition], opts),
  );
  const nodes = records[0]?.Nodes;
  if (!nodes || nodes === '(null)') {
    throw new UsageError(`partition ${JSON.stringify(partition)} has no nodes`, {
      hint: 'list partitions with `sinfo -s` and pick one with nodes',
    });
  }
  return nodes;
}

/**
 * The nodes in scope, with their CPUs. One `scontrol show node` for the whole cluster, filtered
 * here: asking scontrol for an unknown name fails the whole call, and we want to name the
 * unknown ones as a usage error instead.
 */
async function scopeNodes(o: CheckPortsOptions, slurmOpts: SlurmRunOptions): Promise<SlurmNode[]> {
  const all = parseShowNodes(await runSlurm(['scontrol', 'show', 'node', '--oneliner'], slurmOpts));
  const wanted = o.nodelist ?? (o.partition !== undefined ? await partitionNodes(o.partition, slurmOpts) : undefined);
  if (wanted === undefined) return all;
  const names = new Set(expandHostlist(wanted));
  return all.filter((n) => names.has(n.name));
}

/** A Slurm failure here should point at --no-slurm too: the layout and probe work without it. */
function withNoSlurmHint(err: unknown): unknown {
  if (!(err instanceof SlurmError)) return err;
  return new SlurmError(`cannot look up the raysl jobs on these nodes: ${err.message}`, {
    hint: `${err.hint ?? 'check that Slurm answers: `squeue`'}; or pass --no-slurm to check the layout (and --probe) without Slurm`,
    ...(err.details ? { details: err.details } : {}),
    cause: err,
  });
}

/** The facts the analysis reads: the ephemeral range, Slurm's nodes and jobs (unless --no-slurm), this host's CPUs. */
async function collectFacts(o: CheckPortsOptions, env: NodeJS.ProcessEnv): Promise<PortCheckFacts> {
  const ephemeral = o.ephemeralRange ? { range: o.ephemeralRange, source: '--ephemeral-range' } : await readEphemeral();
  const facts: PortCheckFacts = { ephemeral, hostCpus: availableParallelism() };
  if (!o.slurm) return facts;
  const slurmOpts: SlurmRunOptions = { env };
  try {
    const nodes = await scopeNodes(o, slurmOpts);
    const jobs = await listJobs({ states: HOLDING_STATES }, slurmOpts);
    return { ...facts, slurm: { nodes, jobs } };
  } catch (err) {
    throw withNoSlurmHint(err);
  }
}

/** Collect the facts, analyse them (core/port-check.ts), and bind-probe the block with --probe. */
async function collectCheckPorts(o: CheckPortsOptions, env: NodeJS.ProcessEnv): Promise<CheckPortsReport> {
  const check = checkPorts(o, await collectFacts(o, env));
  if (!o.probe || check.block === undefined) return check.report;
  return withProbe({ ...check, block: check.block }, o.address, await probePorts(o.address, blockPorts(check.block)));
}

// ---- command ------------------------------------------------------------------------------

function positiveInt(flag: string, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
      throw new UsageError(`${flag} expects a whole number from 1 to ${max}, received ${JSON.stringify(v)}`, {
        hint: `e.g. ${flag} 4`,
      });
    }
    return Number(v);
  };
}

function ephemeralFlag(v: string): [number, number] {
  const parsed = parseEphemeral(v.replace('-', ' '));
  if (!parsed)
    throw new UsageError(`--ephemeral-range expects LOW-HIGH within 1-65535, received ${JSON.stringify(v)}`, {
      hint: 'e.g. --ephemeral-range 32768-60999',
    });
  return parsed;
}

export const registerCheckPorts: Register = (program, app) => {
  program
    .command('check-ports')
    .description(
      'preflight: show the port block a job would get, the raysl jobs already on the nodes, and any collision',
    )
    .option('-p, --partition <name>', "check against the raysl jobs on this partition's nodes")
    .option('-w, --nodelist <nodes>', 'check against the raysl jobs on these nodes (Slurm hostlist, e.g. node[1-4])')
    .option('-N, --nodes <n>', 'nodes the job will ask for', positiveInt('-N/--nodes', LIMITS.nodes.max))
    .addOption(
      new Option('--runtime <name>', 'runtime whose ports the block holds')
        .choices(['auto', 'ray', 'builtin'])
        .default('ray'),
    )
    .option(
      '--cpus-per-task <n>',
      "CPUs per node (sizes Ray's worker port range; default: largest node in scope)",
      positiveInt('--cpus-per-task', LIMITS.cpusPerTask.max),
    )
    .option('--job-id <id>', 'job id whose block to show (the allocator is deterministic per id)', 'next')
    .option('--probe', 'bind every port of the block on --address and report which are taken, and by whom')
    .option('--address <ip>', 'address to probe on this host', '127.0.0.1')
    .option('--no-slurm', 'do not ask Slurm about other jobs (layout and --probe only)')
    .option('--ephemeral-range <low-high>', `override the ephemeral range (default: ${EPHEMERAL_FILE})`, ephemeralFlag)
    .addHelpText(
      'after',
      `
Examples:
  $ raysl check-ports -p gpu                       # which block would the next job get on partition gpu?
  $ raysl check-ports -w 'node[1-2]' --probe       # also bind-probe that block on 127.0.0.1
  $ raysl check-ports -w node3 --job-id 4711       # the block job 4711 gets (deterministic per id)
  $ raysl check-ports --no-slurm --runtime builtin --probe --address 127.0.1.1
  $ raysl check-ports -p gpu --json | jq .block

Exit status: 0 no collision, 1 any collision (each explained), 2 bad flags, 3 Slurm not reachable.`,
    )
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const g = globalsOf(cmd);
      if (opts.partition !== undefined && opts.nodelist !== undefined) {
        throw new UsageError('pass either -p/--partition or -w/--nodelist, received both', {
          hint: 'with -w the nodes are known; drop -p',
        });
      }
      if (opts.nodelist !== undefined) expandHostlist(opts.nodelist as string); // syntax errors before any Slurm call
      if (opts.jobId !== 'next' && !isSlurmJobId(opts.jobId as string)) {
        throw new UsageError(
          `--job-id: expected a Slurm job id such as 4711 (or next), received ${JSON.stringify(opts.jobId)}`,
          {
            hint: 'the block depends on the job id; leave --job-id out for the next job, or list job ids with `raysl ls`',
          },
        );
      }
      const report = await collectCheckPorts(
        {
          ...(opts.partition !== undefined ? { partition: opts.partition as string } : {}),
          ...(opts.nodelist !== undefined ? { nodelist: opts.nodelist as string } : {}),
          ...(opts.nodes !== undefined ? { nodes: opts.nodes as number } : {}),
          runtime: opts.runtime as CheckPortsOptions['runtime'],
          ...(opts.cpusPerTask !== undefined ? { cpusPerTask: opts.cpusPerTask as number } : {}),
          jobId: opts.jobId as string,
          probe: opts.probe === true,
          address: opts.address as string,
          slurm: opts.slurm !== false,
          ...(opts.ephemeralRange !== undefined ? { ephemeralRange: opts.ephemeralRange as [number, number] } : {}),
        },
        app.io.env,
      );
      if (g.json) writeJson(app.io, report);
      else for (const line of checkPortsLines(report, painter(g, app.io, 'stdout'))) writeLine(app.io.stdout, line);
      if (!report.ok) app.setExitCode(ExitCode.collision);
    });
};
