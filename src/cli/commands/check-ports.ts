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
import { ExitCode, RayslError, SlurmError, UsageError } from '../../core/errors.js';
import { expandHostlist } from '../../core/nodelist.js';
import { LIMITS } from '../../core/option-values.js';
import {
  allocatePortBlock,
  blockLast,
  blocksOverlap,
  formatBlock,
  layoutProblems,
  layoutRows,
  parsePortRecord,
  portLayout,
  portRange,
  rangeProblems,
  rayDefaultProblems,
  type LayoutRow,
} from '../../core/ports.js';
import type { PortBlock, PortLayout, RuntimeName } from '../../core/types.js';
import { probePorts, type PortProbe } from '../../agent/port-probe.js';
import { listJobs, type SlurmJob } from '../../slurm/squeue.js';
import { isSlurmJobId, parseScontrolRecords, parseShowNodes, type SlurmNode } from '../../slurm/scontrol.js';
import { runSlurm, type SlurmRunOptions } from '../../slurm/exec.js';
import { globalsOf, type Register } from '../app.js';
import { painter, writeJson, writeLine, type Io } from '../io.js';

export interface CheckPortsOptions {
  partition?: string;
  nodelist?: string;
  nodes?: number;
  runtime: RuntimeName | 'auto';
  cpusPerTask?: number;
  jobId: string;
  probe: boolean;
  address: string;
  slurm: boolean;
  ephemeralRange?: [number, number];
}

export interface RayslJobBlock {
  id: string;
  name: string;
  user: string;
  state: string;
  nodes: string[];
  block: { first: number; last: number; size: number };
}

export interface Collision {
  kind: string;
  message: string;
}

export interface CheckPortsReport {
  ok: boolean;
  runtime: RuntimeName;
  cpusPerNode: number;
  cpusSource: 'flag' | 'slurm' | 'this host';
  scope: { partition?: string; nodelist?: string; nodes: string[] | 'all'; requestedNodes?: number };
  ephemeralRange: [number, number];
  ephemeralSource: string;
  allowedRange: { min: number; max: number };
  jobs: RayslJobBlock[];
  jobId: string;
  block: { first: number; last: number; size: number } | null;
  layout: LayoutRow[];
  probe?: { address: string; ports: number; taken: Array<PortProbe & { name: string }> };
  collisions: Collision[];
  notes: string[];
}

const EPHEMERAL_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Linux's default, used only when the file cannot be read (not Linux, or a sandbox). */
const LINUX_DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];
/** States in which a job holds its nodes (and so its ports). */
const HOLDING_STATES = ['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED'];

export function parseEphemeral(text: string): [number, number] | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : undefined;
}

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
  const records = parseScontrolRecords(await runSlurm(['scontrol', 'show', 'partition', '--oneliner', partition], opts));
  const nodes = records[0]?.Nodes;
  if (!nodes || nodes === '(null)') {
    throw new UsageError(`partition ${JSON.stringify(partition)} has no nodes`, { hint: 'list partitions with `sinfo -s` and pick one with nodes' });
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

function toJobBlock(job: SlurmJob, block: PortBlock): RayslJobBlock {
  return {
    id: job.id,
    name: job.name,
    user: job.user,
    state: job.state,
    nodes: job.nodelist === '' ? [] : expandHostlist(job.nodelist),
    block: { first: block.base, last: blockLast(block), size: block.size },
  };
}

const asBlock = (b: { first: number; size: number }): PortBlock => ({ base: b.first, size: b.size });

export async function collectCheckPorts(o: CheckPortsOptions, env: NodeJS.ProcessEnv): Promise<CheckPortsReport> {
  const notes: string[] = [];
  const collisions: Collision[] = [];
  const runtime: RuntimeName = o.runtime === 'auto' ? 'ray' : o.runtime;
  if (o.runtime === 'auto') notes.push('runtime auto: checked for ray, the larger block (builtin needs a subset of its room)');

  const eph = o.ephemeralRange ? { range: o.ephemeralRange, source: '--ephemeral-range' } : await readEphemeral();
  const allowedRange = portRange(eph.range);

  // Slurm facts: the nodes in scope and the raysl jobs that hold a port block on any of them.
  let nodeFacts: SlurmNode[] = [];
  let jobs: RayslJobBlock[] = [];
  let scopeNames: string[] | 'all' = o.nodelist !== undefined ? expandHostlist(o.nodelist) : 'all';
  if (o.slurm) {
    const slurmOpts: SlurmRunOptions = { env };
    try {
      nodeFacts = await scopeNodes(o, slurmOpts);
      const all = await listJobs({ states: HOLDING_STATES }, slurmOpts);
      if (o.nodelist === undefined && o.partition !== undefined) scopeNames = nodeFacts.map((n) => n.name);
      const inScope = scopeNames === 'all' ? undefined : new Set(scopeNames);
      jobs = all.flatMap((job) => {
        const block = parsePortRecord(job.comment);
        if (!block) return [];
        const jb = toJobBlock(job, block);
        return inScope === undefined || jb.nodes.some((n) => inScope.has(n)) ? [jb] : [];
      });
      // squeue's order depends on priorities; ours is by job id so output and messages are stable
      jobs.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    } catch (err) {
      throw withNoSlurmHint(err);
    }
    if (o.nodelist !== undefined) {
      const known = new Set(nodeFacts.map((n) => n.name));
      const unknown = (scopeNames as string[]).filter((n) => !known.has(n));
      if (unknown.length > 0) {
        throw new UsageError(`Slurm does not know node(s) ${unknown.join(', ')} (asked for ${o.nodelist})`, {
          hint: 'list the nodes with `sinfo -N` and pass existing names to -w/--nodelist',
        });
      }
    }
  } else {
    notes.push('--no-slurm: other raysl jobs were not looked up; only the layout (and --probe) were checked');
  }
  if (o.nodes !== undefined && Array.isArray(scopeNames) && o.nodes > scopeNames.length) {
    throw new UsageError(`asked for ${o.nodes} nodes (-N) but the scope holds only ${scopeNames.length}: ${scopeNames.join(', ')}`, {
      hint: 'pass a larger -w/--nodelist or partition, or lower -N',
    });
  }

  // CPUs per node size Ray's worker range: the flag, else the largest node in scope, else this host.
  let cpusPerNode: number;
  let cpusSource: CheckPortsReport['cpusSource'];
  if (o.cpusPerTask !== undefined) [cpusPerNode, cpusSource] = [o.cpusPerTask, 'flag'];
  else if (nodeFacts.length > 0) [cpusPerNode, cpusSource] = [Math.max(1, ...nodeFacts.map((n) => n.cpus)), 'slurm'];
  else [cpusPerNode, cpusSource] = [availableParallelism(), 'this host'];
  const layout: PortLayout = portLayout(runtime, cpusPerNode);

  for (const p of layoutProblems(layout)) collisions.push(p);

  // Blocks of other jobs that already overlap each other on a shared node are live collisions.
  for (let i = 0; i < jobs.length; i++) {
    for (let j = i + 1; j < jobs.length; j++) {
      const a = jobs[i]!;
      const b = jobs[j]!;
      const shared = a.nodes.filter((n) => b.nodes.includes(n));
      if (shared.length > 0 && blocksOverlap(asBlock(a.block), asBlock(b.block))) {
        collisions.push({
          kind: 'jobs-overlap',
          message: `jobs ${a.id} and ${b.id} both use ports in ${formatBlock(asBlock(a.block))} / ${formatBlock(asBlock(b.block))} on ${shared.join(', ')}`,
        });
      }
    }
  }

  // The job's own id never blocks itself (asking "which block does running job 12 get?").
  const taken = jobs.filter((j) => j.id !== o.jobId).map((j) => asBlock(j.block));
  let block: PortBlock | undefined;
  try {
    block = allocatePortBlock({ jobId: o.jobId, size: layout.size, range: allowedRange, taken });
  } catch (err) {
    if (!(err instanceof RayslError) || err.exitCode === ExitCode.internal) throw err;
    collisions.push({ kind: 'no-block', message: `${err.message} (hint: ${err.hint ?? ''})` });
  }

  let probe: CheckPortsReport['probe'];
  if (block) {
    for (const p of [...rangeProblems(block, eph.range), ...rayDefaultProblems(block)]) collisions.push(p);
    if (o.probe) {
      const rows = layoutRows(layout, block.base);
      const nameOf = (port: number): string => {
        const r = rows.find((x) => port >= x.first! && port <= x.last!);
        return r === undefined ? 'spare' : r.count === 1 ? r.name : `${r.name}[${port - r.first!}]`;
      };
      const ports = Array.from({ length: block.size }, (_, i) => block!.base + i);
      const results = await probePorts(o.address, ports);
      const takenPorts = results.filter((r) => !r.free).map((r) => ({ ...r, name: nameOf(r.port) }));
      probe = { address: o.address, ports: ports.length, taken: takenPorts };
      for (const t of takenPorts) {
        const who = t.holder ? `by pid ${t.holder.pid} (${t.holder.command})` : t.reason === 'permission' ? '(permission denied)' : '(holder not visible: another user\'s process?)';
        collisions.push({ kind: 'bound', message: `port ${t.port} (${t.name}) of block ${formatBlock(block)} is already bound on ${o.address} ${who}` });
      }
    }
  } else if (o.probe) {
    notes.push('--probe skipped: there is no block to probe');
  }

  return {
    ok: collisions.length === 0,
    runtime,
    cpusPerNode,
    cpusSource,
    scope: {
      ...(o.partition !== undefined ? { partition: o.partition } : {}),
      ...(o.nodelist !== undefined ? { nodelist: o.nodelist } : {}),
      nodes: scopeNames,
      ...(o.nodes !== undefined ? { requestedNodes: o.nodes } : {}),
    },
    ephemeralRange: eph.range,
    ephemeralSource: eph.source,
    allowedRange,
    jobs,
    jobId: o.jobId,
    block: block ? { first: block.base, last: blockLast(block), size: block.size } : null,
    layout: block ? layoutRows(layout, block.base) : layoutRows(layout),
    ...(probe ? { probe } : {}),
    collisions,
    notes,
  };
}

// ---- printing -----------------------------------------------------------------------------

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

function printReport(r: CheckPortsReport, io: Io, color: ReturnType<typeof painter>): void {
  const out = (s = ''): void => writeLine(io.stdout, s);
  const where = r.scope.nodelist ?? (r.scope.partition !== undefined ? `partition ${r.scope.partition}` : 'all nodes');
  out(`${color.bold('raysl check-ports')}: ${r.runtime} runtime, ${r.cpusPerNode} CPUs per node (${r.cpusSource}), ${where}`);
  out(`ephemeral range ${r.ephemeralRange[0]}-${r.ephemeralRange[1]} (${r.ephemeralSource}); blocks fit in ${r.allowedRange.min}-${r.allowedRange.max}`);
  out();
  if (r.jobs.length === 0) out('raysl jobs with a port block on these nodes: none');
  else {
    out('raysl jobs with a port block on these nodes:');
    const rows = [['JOBID', 'USER', 'STATE', 'NODES', 'BLOCK', 'PORTS'], ...r.jobs.map((j) => [j.id, j.user, j.state, j.nodes.join(','), `${j.block.first}-${j.block.last}`, String(j.block.size)])];
    for (const line of table(rows)) out(`  ${line}`);
  }
  out();
  if (r.block) {
    out(`job ${r.jobId} would get block ${r.block.first}-${r.block.last} (${r.block.size} ports):`);
    const rows = [['NAME', 'OFFSET', 'PORT(S)'], ...r.layout.map((l) => [l.name, l.count === 1 ? String(l.offset) : `${l.offset}-${l.offset + l.count - 1}`, l.count === 1 ? String(l.first) : `${l.first}-${l.last} (${l.count})`])];
    for (const line of table(rows)) out(`  ${line}`);
  } else out(`job ${r.jobId} would get no block`);
  if (r.probe) {
    out();
    const n = r.probe.taken.length;
    out(`probe on ${r.probe.address}: ${r.probe.ports} ports, ${n === 0 ? 'all free' : `${n} already bound`}`);
  }
  for (const note of r.notes) out(color.dim(`note: ${note}`));
  out();
  if (r.ok) out(color.green('ok: no collisions'));
  else {
    out(color.red(`${r.collisions.length} collision(s):`));
    for (const c of r.collisions) out(`  ${color.red('x')} ${c.message}`);
  }
}

// ---- command ------------------------------------------------------------------------------

function positiveInt(flag: string, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) {
      throw new UsageError(`${flag} expects a whole number from 1 to ${max}, received ${JSON.stringify(v)}`, { hint: `e.g. ${flag} 4` });
    }
    return Number(v);
  };
}

function ephemeralFlag(v: string): [number, number] {
  const parsed = parseEphemeral(v.replace('-', ' '));
  if (!parsed) throw new UsageError(`--ephemeral-range expects LOW-HIGH within 1-65535, received ${JSON.stringify(v)}`, { hint: 'e.g. --ephemeral-range 32768-60999' });
  return parsed;
}

export const registerCheckPorts: Register = (program, app) => {
  program
    .command('check-ports')
    .description('preflight: show the port block a job would get, the raysl jobs already on the nodes, and any collision')
    .option('-p, --partition <name>', 'check against the raysl jobs on this partition\'s nodes')
    .option('-w, --nodelist <nodes>', 'check against the raysl jobs on these nodes (Slurm hostlist, e.g. node[1-4])')
    .option('-N, --nodes <n>', 'nodes the job will ask for', positiveInt('-N/--nodes', LIMITS.nodes.max))
    .addOption(new Option('--runtime <name>', 'runtime whose ports the block holds').choices(['auto', 'ray', 'builtin']).default('ray'))
    .option('--cpus-per-task <n>', 'CPUs per node (sizes Ray\'s worker port range; default: largest node in scope)', positiveInt('--cpus-per-task', LIMITS.cpusPerTask.max))
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
        throw new UsageError('pass either -p/--partition or -w/--nodelist, received both', { hint: 'with -w the nodes are known; drop -p' });
      }
      if (opts.nodelist !== undefined) expandHostlist(opts.nodelist as string); // syntax errors before any Slurm call
      if (opts.jobId !== 'next' && !isSlurmJobId(opts.jobId as string)) {
        throw new UsageError(`--job-id: expected a Slurm job id such as 4711 (or next), received ${JSON.stringify(opts.jobId)}`, {
          hint: 'the block depends on the job id; leave --job-id out for the next job, or list job ids with `raysl ls`',
        });
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
      else printReport(report, app.io, painter(g, app.io, 'stdout'));
      if (!report.ok) app.setExitCode(ExitCode.collision);
    });
};
