/**
 * The planner: JobSpec + ClusterFacts -> Plan. Pure and total: every refusal happens here, before
 * anything is submitted, with the numbers that made it fail. The controller later runs exactly
 * this plan (it is embedded in the sbatch script), so what `render` shows is what runs.
 */
import { chooseRuntime, entrypointKind, interpreterFor } from './entrypoint.js';
import { UsageError } from './errors.js';
import { containerPlan } from './container.js';
import { portLayout, portRange } from './ports.js';
import { PREFLIGHT_DEFAULTS } from './preflight.js';
import { assertNoNewline, parseMemMb, parseTimeLimit } from './option-values.js';
import { checkGrants } from './resources.js';
import { checkHetFacts, checkHetSpec, hetComponents } from './het-plan.js';
import { resolvePath } from './spec.js';
import type { ClusterFacts, JobSpec, NodeFacts, NodeResources, Plan, PlanEntrypoint } from './types.js';

export interface PlanTools {
  /** Absolute path of tsx's CLI (runs .ts entrypoints); undefined when raysl has none (the wheel). */
  tsx: string | undefined;
  /** The node strips TypeScript types itself (process.features.typescript): runs .ts entrypoints without tsx. */
  nodeStripsTypes?: boolean;
  /** file: URL of raysl's entry hook, `node --import`ed by .ts/.js entrypoints (see interpreterFor). */
  hook: string;
  /** Directory relative entrypoint/job-dir paths are resolved against. */
  cwd: string;
  /** Absolute path of the node binary for .js/.ts entrypoints (default "node" from PATH). */
  node?: string;
  /** raysl version recorded in the plan (default: the build's RAYSL_VERSION); tests pin it so goldens survive releases. */
  version?: string;
}

// RAYSL_VERSION is injected by the bundler; guard so a plain tsx/vitest import without the define still works.
const BUILD_VERSION: string = typeof RAYSL_VERSION === 'string' ? RAYSL_VERSION : '0.0.0-dev';

// sinfo %t states a new job cannot start on; a trailing "*" means the node is not responding.
const UNUSABLE_STATES = new Set([
  'down',
  'drain',
  'drng',
  'draining',
  'drained',
  'fail',
  'failg',
  'failing',
  'futr',
  'future',
  'inval',
  'unk',
  'unknown',
]);

function nodeUsable(n: NodeFacts): boolean {
  const base = n.state.replace(/[*~#!%$@^+-]+$/, '');
  return !n.state.endsWith('*') && !UNUSABLE_STATES.has(base);
}

/** Default warning lead time: the controller gets USR2 this long before the limit (Slurm checks every 30-60 s). */
export function signalLeadSec(limitSec: number): number {
  if (!Number.isFinite(limitSec)) return 0;
  return Math.max(30, Math.min(120, Math.floor(limitSec / 2)));
}

/** What teardown keeps of the warning for itself: the entrypoint gets the rest. */
function teardownReserveSec(warnSec: number): number {
  return Math.min(30, Math.floor(warnSec / 4));
}

/** Slurm's warning (USR2 to the batch shell, i.e. the controller) and what the entrypoint gets of it. */
function preemptOf(spec: JobSpec): Plan['preempt'] {
  const limitSec = spec.time !== undefined ? parseTimeLimit(spec.time) : Infinity;
  const warnSec = spec.preemptGrace ?? signalLeadSec(limitSec);
  if (warnSec <= 0) return undefined;
  if (spec.preemptGrace !== undefined && warnSec >= limitSec) {
    throw new UsageError(
      `--preempt-grace ${warnSec}: the warning would come before the job starts (--time ${spec.time} is ${limitSec} s)`,
      {
        hint: `use --preempt-grace ${Math.max(10, signalLeadSec(limitSec))} or a longer --time`,
      },
    );
  }
  return {
    warnSec,
    entrypointGraceSec: warnSec - teardownReserveSec(warnSec),
    signal: spec.preemptSignal ?? 'SIGTERM',
  };
}

/** Simple constraint expressions ("a100", "a100&ib") can be checked against sinfo features; others are left to Slurm. */
function featureFilter(constraint: string | undefined): ((n: NodeFacts) => boolean) | undefined {
  if (constraint === undefined || !/^[\w.-]+(&[\w.-]+)*$/.test(constraint)) return undefined;
  const wanted = constraint.split('&');
  return (n) => wanted.every((f) => n.features.includes(f));
}

function stemOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

const where = (facts: ClusterFacts) => (facts.partition ? `partition ${facts.partition}` : 'the cluster');

/** Refusals that need facts: GPUs, CPUs, memory and node count against what the partition has. */
function checkAgainstFacts(spec: JobSpec, facts: ClusterFacts, perNode: NodeResources, memAsked: boolean): string[] {
  const warnings: string[] = [];
  const all = facts.nodes;
  if (all.length === 0) {
    throw new UsageError(`${where(facts)} has no nodes (sinfo listed none)`, {
      hint: 'pick another partition with -p (list them with `sinfo -s`), or --no-check to skip this check',
    });
  }
  const usable = all.filter(nodeUsable);
  const maxGpus = Math.max(0, ...all.map((n) => n.gpus));
  if (perNode.gpus > maxGpus) {
    throw new UsageError(
      `--gpus-per-node ${perNode.gpus}: ${where(facts)} offers at most ${maxGpus} GPUs per node (GRES ${[...new Set(all.map((n) => n.gres))].join(', ')})`,
      {
        hint:
          maxGpus > 0
            ? `use --gpus-per-node ${maxGpus} or less, or a GPU partition (-p)`
            : 'pick a GPU partition with -p (see `sinfo -o "%P %G"`)',
        details: { asked: perNode.gpus, maxGpusPerNode: maxGpus },
      },
    );
  }
  const maxCpus = Math.max(0, ...all.map((n) => n.cpus));
  if (perNode.cpus > maxCpus) {
    throw new UsageError(`--cpus-per-task ${perNode.cpus}: ${where(facts)} has at most ${maxCpus} CPUs per node`, {
      hint: `use --cpus-per-task ${maxCpus} or less`,
    });
  }
  const maxMem = Math.max(0, ...all.map((n) => n.memoryMb));
  if (memAsked && perNode.memoryMb !== undefined && perNode.memoryMb > maxMem) {
    throw new UsageError(`--mem ${spec.mem}: ${where(facts)} has at most ${maxMem} MB per node`, {
      hint: `use --mem ${maxMem} or less`,
    });
  }
  const features = featureFilter(spec.constraint);
  if (features && spec.constraint !== undefined && !all.some(features)) {
    const known = [...new Set(all.flatMap((n) => n.features))].sort();
    throw new UsageError(
      `-C ${spec.constraint}: no node of ${where(facts)} has ${spec.constraint.includes('&') ? 'all of the features' : 'the feature'} ${spec.constraint}`,
      {
        hint: known.length
          ? `features there: ${known.join(', ')}; drop -C or pick another partition (-p)`
          : 'its nodes list no features; drop -C or pick another partition (-p)',
        details: { constraint: spec.constraint, features: known },
      },
    );
  }
  const fits = (n: NodeFacts) =>
    n.gpus >= perNode.gpus &&
    n.cpus >= perNode.cpus &&
    (!memAsked || perNode.memoryMb === undefined || n.memoryMb >= perNode.memoryMb) &&
    (!features || features(n));
  const eligible = all.filter(fits);
  if (eligible.length < spec.nodes) {
    const shape = [
      `${perNode.cpus} CPUs`,
      perNode.gpus ? `${perNode.gpus} GPUs` : '',
      memAsked && perNode.memoryMb ? `${perNode.memoryMb} MB` : '',
      features ? `features ${spec.constraint}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    throw new UsageError(
      `-N ${spec.nodes}: ${where(facts)} has ${eligible.length} node${eligible.length === 1 ? '' : 's'} with ${shape} (of ${all.length} in total)`,
      {
        hint:
          eligible.length === 0
            ? "no node there fits one node's share: ask for fewer resources per node, or another partition (-p)"
            : `ask for at most ${eligible.length} node${eligible.length === 1 ? '' : 's'}${eligible.length < all.length ? ', or fewer resources per node' : ''}, or another partition (-p)`,
        details: { asked: spec.nodes, eligible: eligible.length, total: all.length },
      },
    );
  }
  const eligibleUp = eligible.filter(nodeUsable);
  if (eligibleUp.length < spec.nodes) {
    warnings.push(
      `only ${eligibleUp.length} of the ${eligible.length} eligible nodes in ${where(facts)} are up now (others down/drained): the job may wait`,
    );
  }
  if (perNode.gpus === 0 && maxGpus > 0) {
    warnings.push(
      `nodes in ${where(facts)} have GPUs but none were asked for: the runtime sees 0 GPUs (add --gpus-per-node ${Math.min(...usable.map((n) => n.gpus).filter((g) => g > 0), maxGpus)})`,
    );
  }
  return warnings;
}

/** CPUs per node when -c is not given: the smallest eligible node, so every node can grant it. */
function defaultCpus(spec: JobSpec, facts: ClusterFacts): number | undefined {
  const gpus = spec.gpusPerNode ?? 0;
  const features = featureFilter(spec.constraint);
  const candidates = facts.nodes.filter((n) => n.gpus >= gpus && (!features || features(n)));
  const pool = candidates.filter(nodeUsable).length >= spec.nodes ? candidates.filter(nodeUsable) : candidates;
  if (pool.length === 0) return undefined;
  // the N largest nodes are the ones that can take the job; the smallest of those is the cap
  const cpus = pool.map((n) => n.cpus).sort((a, b) => b - a);
  return cpus[Math.min(spec.nodes, cpus.length) - 1];
}

function planEntrypoint(spec: JobSpec, given: string, tools: PlanTools): PlanEntrypoint {
  assertNoNewline(given, 'the entrypoint path');
  const path = resolvePath(tools.cwd, given);
  const kind = entrypointKind(path);
  if (kind === 'tsx' && tools.tsx === undefined && tools.nodeStripsTypes !== true) {
    throw new UsageError(
      `cannot run ${given}: this raysl has no tsx (the pip wheel) and its node does not strip TypeScript types`,
      {
        hint: `unset RAYSL_NODE to use the wheel's Node, or point it at Node >= 22.18; or compile ${given} to .js`,
      },
    );
  }
  const interpreter = interpreterFor(kind, {
    node: tools.node ?? 'node',
    tsx: tools.tsx,
    hook: tools.hook,
    ...(spec.python ? { python: spec.python } : {}),
  });
  return { path, args: [...spec.args], interpreter, kind };
}

/** -N and --min-nodes: whole numbers, 1 <= min <= N. Returns --min-nodes (N when not given). */
function checkNodeCounts(spec: JobSpec): number {
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1) {
    throw new UsageError(`-N/--nodes must be at least 1, received ${spec.nodes}`, {
      hint: 'an allocation needs at least one node: e.g. -N 1',
    });
  }
  const minNodes = spec.minNodes ?? spec.nodes;
  if (!Number.isInteger(minNodes) || minNodes < 1 || minNodes > spec.nodes) {
    throw new UsageError(`--min-nodes must be between 1 and --nodes (${spec.nodes}), received ${minNodes}`, {
      hint: `drop --min-nodes or use a value up to ${spec.nodes}`,
    });
  }
  return minNodes;
}

interface PlannedResources {
  perNode: NodeResources;
  /** The head's own component with --head-cpus-only: the job's CPUs and memory, no GPUs. */
  head: NodeResources | undefined;
}

/** What each node gets (CPUs default to what every eligible node can grant), checked against the cluster facts. */
function planResources(spec: JobSpec, facts: ClusterFacts, warnings: string[]): PlannedResources {
  // CPUs: Slurm grants 1 CPU per task without -c, far less than an HPC user expects of "a node"
  let cpus = spec.cpusPerTask;
  if (cpus === undefined) {
    cpus = facts.source === 'none' ? undefined : defaultCpus(spec, facts);
    if (cpus === undefined) {
      cpus = 1;
      warnings.push('CPUs per node unknown (no cluster facts): using 1 CPU per node; pass --cpus-per-task to get more');
    }
  }
  const gpus = spec.gpusPerNode ?? 0;
  const memAsked = spec.mem !== undefined;
  let memoryMb = memAsked ? parseMemMb(spec.mem!) : undefined;
  if (memoryMb === 0 || (memoryMb === undefined && spec.exclusive)) {
    // --mem=0 and --exclusive grant the whole node: the smallest node memory is the safe figure
    const mems = facts.nodes.filter((n) => n.cpus >= cpus! && n.gpus >= gpus).map((n) => n.memoryMb);
    memoryMb = mems.length ? Math.min(...mems) : undefined;
  }
  const perNode: NodeResources = { cpus, gpus, ...(memoryMb !== undefined ? { memoryMb } : {}) };
  const head: NodeResources | undefined = spec.headCpusOnly ? { ...perNode, gpus: 0 } : undefined;
  if (facts.source !== 'none') {
    warnings.push(
      ...checkAgainstFacts(spec, facts, perNode, memAsked && memoryMb !== undefined && parseMemMb(spec.mem!) !== 0),
    );
    if (head) warnings.push(...checkHetFacts(spec, facts, head));
  } else
    warnings.push(
      'cluster facts not checked (--no-check): GPU, CPU and node counts were not verified against the partition',
    );
  return { perNode, head };
}

/** The #SBATCH flags (and the heterogeneous job's components with a CPU-only head), newline-free. */
function planSbatch(
  spec: JobSpec,
  r: PlannedResources,
  jobName: string,
  output: string,
  preempt: Plan['preempt'],
): Pick<Plan, 'sbatch' | 'hetjob'> {
  const { perNode, head } = r;
  let sbatch: Array<[string, string]> = [
    ['--job-name', jobName],
    ['--nodes', String(spec.nodes)],
    ['--ntasks-per-node', '1'],
    ['--cpus-per-task', String(perNode.cpus)],
  ];
  if (perNode.gpus > 0) sbatch.push(['--gpus-per-node', String(perNode.gpus)]);
  if (spec.mem !== undefined) sbatch.push(['--mem', spec.mem]);
  if (spec.partition !== undefined) sbatch.push(['--partition', spec.partition]);
  if (spec.time !== undefined) sbatch.push(['--time', spec.time]);
  const jobWide: Array<[string, string]> = [];
  // B: the batch shell only, which exec'd the controller; USR2, because NCCL uses USR1
  if (preempt) jobWide.push(['--signal', `B:USR2@${preempt.warnSec}`]);
  // append: a requeued attempt would otherwise truncate the batch log of the earlier ones.
  // Without --requeue, say --no-requeue: Slurm's default (JobRequeue=1) requeues a job whose node
  // fails, which would run the entrypoint again after raysl reported the job ended.
  if (spec.requeue) jobWide.push(['--requeue', ''], ['--open-mode', 'append']);
  else jobWide.push(['--no-requeue', '']);
  sbatch.push(...jobWide);
  if (spec.account !== undefined) sbatch.push(['--account', spec.account]);
  if (spec.qos !== undefined) sbatch.push(['--qos', spec.qos]);
  if (spec.exclusive) sbatch.push(['--exclusive', '']);
  if (spec.constraint !== undefined) sbatch.push(['--constraint', spec.constraint]);
  if (spec.reservation !== undefined) sbatch.push(['--reservation', spec.reservation]);
  sbatch.push(['--output', output]);
  const hetjob = head ? hetComponents({ spec, head, worker: perNode, output, jobName, jobWide }) : undefined;
  if (hetjob) sbatch = hetjob[0].sbatch;
  for (const [flag, value] of [...sbatch, ...(hetjob?.[1].sbatch ?? [])]) assertNoNewline(value, flag);
  return hetjob ? { sbatch, hetjob } : { sbatch };
}

/** The optional parts of a plan, each present only when asked for. */
function planOptions(spec: JobSpec, nodes: number, preempt: Plan['preempt']): Partial<Plan> {
  const extra: Partial<Plan> = {};
  if (spec.iface !== undefined) extra.iface = spec.iface;
  if (spec.preflight === true || spec.preflightMin !== undefined)
    extra.preflight = { ...(spec.preflightMin ?? PREFLIGHT_DEFAULTS) };
  const container = containerPlan(spec.containerImage, spec.containerCmd);
  if (container !== undefined) extra.container = container;
  if (preempt) extra.preempt = preempt;
  Object.assign(extra, lifetimeParts(spec, nodes));
  if (spec.resources !== undefined && spec.resources.length > 0) {
    checkGrants(spec.resources, nodes);
    extra.resources = spec.resources.map((g) => ({ nodes: g.nodes, resources: { ...g.resources } }));
  }
  return extra;
}

export function planJob(spec: JobSpec, facts: ClusterFacts, tools: PlanTools): Plan {
  const warnings: string[] = [];
  const minNodes = checkNodeCounts(spec);
  if (spec.headCpusOnly) checkHetSpec(spec);
  const entrypoint = spec.entrypoint === null ? null : planEntrypoint(spec, spec.entrypoint, tools);
  const { runtime, reason } = chooseRuntime(spec.runtime, entrypoint?.path ?? null);
  const resources = planResources(spec, facts, warnings);
  const { perNode, head } = resources;

  // The runtime is told exactly what Slurm grants: GPUs come only from --gpus-per-node (other GPU
  // requests are refused in --sbatch-arg), so the logical count cannot exceed the physical one.
  const nodes = spec.nodes + (head ? 1 : 0);
  const aggregate: NodeResources = {
    cpus: perNode.cpus * nodes,
    gpus: perNode.gpus * spec.nodes,
    ...(perNode.memoryMb !== undefined ? { memoryMb: perNode.memoryMb * nodes } : {}),
  };

  const jobDir = resolvePath(tools.cwd, spec.jobDir);
  const jobName = spec.jobName ?? (entrypoint ? `raysl-${stemOf(entrypoint.path)}` : 'raysl-up').slice(0, 64);
  const output = spec.output ?? `${jobDir}/raysl-%j.out`;
  const preempt = preemptOf(spec);
  const { sbatch, hetjob } = planSbatch(spec, resources, jobName, output, preempt);

  const layout = portLayout(runtime, perNode.cpus);
  if (runtime === 'ray' && spec.rayAuth === 'off') {
    warnings.push(
      "--ray-auth off: Ray's dashboard, Jobs API and GCS accept anyone who can reach the head's ports (the Jobs API runs arbitrary code)",
    );
  }
  const plan: Plan = {
    version: 1,
    raysl: tools.version ?? BUILD_VERSION,
    runtime,
    runtimeReason: reason,
    entrypoint,
    // the head's component counts: -N 2 --head-cpus-only is a 3-node cluster that starts once the head and --min-nodes workers joined
    nodes,
    minNodes: minNodes + (head ? 1 : 0),
    perNode,
    aggregate,
    portLayout: layout,
    portRange: portRange(facts.ephemeralPortRange),
    joinTimeoutSec: spec.joinTimeoutSec,
    jobDir,
    env: { ...spec.env },
    setup: [...spec.setup],
    continueOnNodeLoss: spec.continueOnNodeLoss ?? false,
    rayAuth: spec.rayAuth ?? 'token',
    sbatch,
    sbatchExtra: [...spec.sbatchArgs],
    jobName,
    checkedAgainst: facts.source,
    warnings,
  };
  if (hetjob) plan.hetjob = hetjob;
  return Object.assign(plan, planOptions(spec, nodes, preempt));
}

/** Autoscaling's defaults (Ray's own idle timeout is 5 minutes too); --max-nodes counts every node, the allocation's included. */
const AUTOSCALE_DEFAULTS = { idleTimeoutSec: 300, scaleUpDelaySec: 10 } as const;

/** --requeue (another attempt after a preemption) and --max-nodes (the cluster grows and shrinks), when asked for. */
function lifetimeParts(spec: JobSpec, nodes: number): Pick<Plan, 'requeue' | 'autoscale'> {
  return {
    ...(spec.requeue ? { requeue: { maxRestarts: spec.maxRestarts ?? 1 } } : {}),
    ...(spec.maxNodes !== undefined ? { autoscale: autoscalePlan(spec, nodes) } : {}),
  };
}

function autoscalePlan(spec: JobSpec, nodes: number): NonNullable<Plan['autoscale']> {
  const maxNodes = spec.maxNodes!;
  if (maxNodes < nodes) {
    throw new UsageError(`--max-nodes ${maxNodes} is below the job's ${nodes} nodes`, {
      hint: `use --max-nodes ${nodes + 1} or more: it counts every node of the cluster, the allocation's and the satellites'`,
    });
  }
  return {
    maxNodes,
    idleTimeoutSec: spec.idleTimeout ?? AUTOSCALE_DEFAULTS.idleTimeoutSec,
    scaleUpDelaySec: spec.scaleUpDelay ?? AUTOSCALE_DEFAULTS.scaleUpDelaySec,
  };
}
