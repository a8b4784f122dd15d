/**
 * The analysis of `raysl check-ports` (DESIGN.md "Ports"), pure: the command collects the facts
 * (the nodes in scope and the raysl jobs Slurm lists, the ephemeral range, this host's CPUs, an
 * optional bind-probe) and this module decides the block, the layout and every collision.
 */
import { ExitCode, RayslError, UsageError } from './errors.js';
import { expandHostlist } from './nodelist.js';
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
} from './ports.js';
import type { PortBlock, PortLayout, RuntimeName } from './types.js';

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

/** One port of the block as a bind-probe found it (agent/port-probe.ts's PortProbe). */
export interface ProbedPort {
  port: number;
  free: boolean;
  reason?: 'in-use' | 'permission';
  holder?: { pid: number; command: string };
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
  probe?: { address: string; ports: number; taken: Array<ProbedPort & { name: string }> };
  collisions: Collision[];
  notes: string[];
}

/** What Slurm said, reduced to what the analysis reads (slurm/scontrol.ts and slurm/squeue.ts). */
export interface SlurmPortFacts {
  /** The nodes in scope (all of them without -w or -p) with their CPUs. */
  nodes: ReadonlyArray<{ name: string; cpus: number }>;
  /** Every job in a state that holds its nodes; the port record is in its comment. */
  jobs: ReadonlyArray<{ id: string; name: string; user: string; state: string; nodelist: string; comment: string }>;
}

export interface PortCheckFacts {
  ephemeral: { range: [number, number]; source: string };
  /** Undefined with --no-slurm. */
  slurm?: SlurmPortFacts;
  /** CPUs of the host running check-ports: the last fallback for the CPUs per node. */
  hostCpus: number;
}

/** The analysis before the probe: the report, and the block the probe binds (when there is one). */
export interface PortCheck {
  report: CheckPortsReport;
  block?: PortBlock;
}

/** States in which a job holds its nodes (and so its ports). */
export const HOLDING_STATES = ['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED'];

export function parseEphemeral(text: string): [number, number] | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : undefined;
}

const asBlock = (b: { first: number; size: number }): PortBlock => ({ base: b.first, size: b.size });
const blockView = (b: PortBlock): RayslJobBlock['block'] => ({ first: b.base, last: blockLast(b), size: b.size });

/** The raysl jobs (a port record in the comment) on a node in scope, by job id so output is stable. */
function jobsInScope(jobs: SlurmPortFacts['jobs'], scope: string[] | 'all'): RayslJobBlock[] {
  const inScope = scope === 'all' ? undefined : new Set(scope);
  const found = jobs.flatMap((job) => {
    const block = parsePortRecord(job.comment);
    if (!block) return [];
    const nodes = job.nodelist === '' ? [] : expandHostlist(job.nodelist);
    const jb: RayslJobBlock = {
      id: job.id,
      name: job.name,
      user: job.user,
      state: job.state,
      nodes,
      block: blockView(block),
    };
    return inScope === undefined || nodes.some((n) => inScope.has(n)) ? [jb] : [];
  });
  // squeue's order depends on priorities; ours is by job id so output and messages are stable
  return found.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

/** The node names in scope: -w's, else the partition's (as Slurm listed them), else all. */
function scopeNames(o: CheckPortsOptions, slurm: SlurmPortFacts | undefined): string[] | 'all' {
  if (o.nodelist !== undefined) return expandHostlist(o.nodelist);
  if (o.partition !== undefined && slurm) return slurm.nodes.map((n) => n.name);
  return 'all';
}

/** Usage errors of the scope: -w names Slurm does not know, -N larger than the scope. */
function checkScope(o: CheckPortsOptions, names: string[] | 'all', slurm: SlurmPortFacts | undefined): void {
  if (slurm && o.nodelist !== undefined && names !== 'all') {
    const known = new Set(slurm.nodes.map((n) => n.name));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new UsageError(`Slurm does not know node(s) ${unknown.join(', ')} (asked for ${o.nodelist})`, {
        hint: 'list the nodes with `sinfo -N` and pass existing names to -w/--nodelist',
      });
    }
  }
  if (o.nodes !== undefined && names !== 'all' && o.nodes > names.length) {
    throw new UsageError(
      `asked for ${o.nodes} nodes (-N) but the scope holds only ${names.length}: ${names.join(', ')}`,
      {
        hint: 'pass a larger -w/--nodelist or partition, or lower -N',
      },
    );
  }
}

/** CPUs per node size Ray's worker range: the flag, else the largest node in scope, else this host. */
function cpusPerNode(o: CheckPortsOptions, f: PortCheckFacts): Pick<CheckPortsReport, 'cpusPerNode' | 'cpusSource'> {
  if (o.cpusPerTask !== undefined) return { cpusPerNode: o.cpusPerTask, cpusSource: 'flag' };
  const nodes = f.slurm?.nodes ?? [];
  if (nodes.length > 0) return { cpusPerNode: Math.max(1, ...nodes.map((n) => n.cpus)), cpusSource: 'slurm' };
  return { cpusPerNode: f.hostCpus, cpusSource: 'this host' };
}

/** Blocks of other jobs that already overlap each other on a shared node are live collisions. */
function overlappingJobs(jobs: readonly RayslJobBlock[]): Collision[] {
  const out: Collision[] = [];
  for (let i = 0; i < jobs.length; i++) {
    for (let j = i + 1; j < jobs.length; j++) {
      const a = jobs[i]!;
      const b = jobs[j]!;
      const shared = a.nodes.filter((n) => b.nodes.includes(n));
      if (shared.length > 0 && blocksOverlap(asBlock(a.block), asBlock(b.block))) {
        out.push({
          kind: 'jobs-overlap',
          message: `jobs ${a.id} and ${b.id} both use ports in ${formatBlock(asBlock(a.block))} / ${formatBlock(asBlock(b.block))} on ${shared.join(', ')}`,
        });
      }
    }
  }
  return out;
}

/** The block the job would get, or the collision that says why there is none. */
function allocate(
  o: CheckPortsOptions,
  layout: PortLayout,
  range: { min: number; max: number },
  jobs: readonly RayslJobBlock[],
): PortBlock | Collision {
  // The job's own id never blocks itself (asking "which block does running job 12 get?").
  const taken = jobs.filter((j) => j.id !== o.jobId).map((j) => asBlock(j.block));
  try {
    return allocatePortBlock({ jobId: o.jobId, size: layout.size, range, taken });
  } catch (err) {
    if (!(err instanceof RayslError) || err.exitCode === ExitCode.internal) throw err;
    return { kind: 'no-block', message: `${err.message} (hint: ${err.hint ?? ''})` };
  }
}

/** Everything but the probe: the scope, the other jobs' blocks, the block this job would get and every collision. */
export function checkPorts(o: CheckPortsOptions, f: PortCheckFacts): PortCheck {
  const notes: string[] = [];
  const runtime: RuntimeName = o.runtime === 'auto' ? 'ray' : o.runtime;
  if (o.runtime === 'auto')
    notes.push('runtime auto: checked for ray, the larger block (builtin needs a subset of its room)');
  const allowedRange = portRange(f.ephemeral.range);
  const names = scopeNames(o, f.slurm);
  checkScope(o, names, f.slurm);
  const jobs = f.slurm ? jobsInScope(f.slurm.jobs, names) : [];
  if (!f.slurm)
    notes.push('--no-slurm: other raysl jobs were not looked up; only the layout (and --probe) were checked');
  const cpus = cpusPerNode(o, f);
  const layout = portLayout(runtime, cpus.cpusPerNode);
  const collisions: Collision[] = [...layoutProblems(layout), ...overlappingJobs(jobs)];
  const got = allocate(o, layout, allowedRange, jobs);
  const block = 'base' in got ? got : undefined;
  if (block) collisions.push(...rangeProblems(block, f.ephemeral.range), ...rayDefaultProblems(block));
  else collisions.push(got as Collision);
  if (!block && o.probe) notes.push('--probe skipped: there is no block to probe');
  const report: CheckPortsReport = {
    ok: collisions.length === 0,
    runtime,
    ...cpus,
    scope: {
      ...(o.partition !== undefined ? { partition: o.partition } : {}),
      ...(o.nodelist !== undefined ? { nodelist: o.nodelist } : {}),
      nodes: names,
      ...(o.nodes !== undefined ? { requestedNodes: o.nodes } : {}),
    },
    ephemeralRange: f.ephemeral.range,
    ephemeralSource: f.ephemeral.source,
    allowedRange,
    jobs,
    jobId: o.jobId,
    block: block ? blockView(block) : null,
    layout: block ? layoutRows(layout, block.base) : layoutRows(layout),
    collisions,
    notes,
  };
  return block ? { report, block } : { report };
}

/** Every port of the block, in order: what the probe binds. */
export function blockPorts(block: PortBlock): number[] {
  return Array.from({ length: block.size }, (_, i) => block.base + i);
}

/** The report with the probe's findings: each bound port named by its layout row, and a collision. */
export function withProbe(
  check: PortCheck & { block: PortBlock },
  address: string,
  results: readonly ProbedPort[],
): CheckPortsReport {
  const { report, block } = check;
  const nameOf = (port: number): string => {
    const r = report.layout.find((x) => port >= x.first! && port <= x.last!);
    return r === undefined ? 'spare' : r.count === 1 ? r.name : `${r.name}[${port - r.first!}]`;
  };
  const taken = results.filter((r) => !r.free).map((r) => ({ ...r, name: nameOf(r.port) }));
  const bound = taken.map((t): Collision => {
    const who = t.holder
      ? `by pid ${t.holder.pid} (${t.holder.command})`
      : t.reason === 'permission'
        ? '(permission denied)'
        : "(holder not visible: another user's process?)";
    return {
      kind: 'bound',
      message: `port ${t.port} (${t.name}) of block ${formatBlock(block)} is already bound on ${address} ${who}`,
    };
  });
  const { collisions: before, notes, ...head } = report;
  const collisions = [...before, ...bound];
  // the keys in the order --json has always printed them
  return { ...head, ok: collisions.length === 0, probe: { address, ports: block.size, taken }, collisions, notes };
}
