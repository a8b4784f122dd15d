/**
 * The autoscaling policy (--max-nodes): from the work that waits and the nodes the cluster has, what
 * to do now: grow by k nodes (one satellite job), shrink one satellite, wait, or nothing. Pure: no
 * clock (wait and idle times come in as durations), no I/O; every decision carries the sentence the
 * timeline shows.
 *
 * Rules (docs/autoscale.md):
 * - Work counts once it has waited at least the scale-up delay, oldest first.
 * - Capacity first comes from what is free on the nodes now, then from the nodes still coming (a
 *   satellite queued in Slurm or joining counts as its nodes, empty, of the granted shape); only
 *   what fits nowhere opens new nodes of the granted shape.
 * - Never more than --max-nodes nodes running + coming + asked for (nodes of a satellite that is
 *   draining still count until they are gone).
 * - Work that no node of the granted shape can hold (a bundle bigger than a node; a STRICT_PACK
 *   group whose sum is; a STRICT_SPREAD group with more bundles than --max-nodes) never starts a
 *   satellite: the runtime reports it as infeasible, as without autoscaling.
 * - A satellite is shrunk as a whole, once every one of its nodes has been idle for the idle
 *   timeout and no work that a node of the shape could hold waits. Whole, because a satellite is
 *   one Slurm job: Slurm gives its nodes back when the job ends, and its nodes were asked for
 *   together for one burst of work. The main allocation's nodes are never shrunk.
 * - Grow and shrink never both happen in one round (a grow needs waiting work, a shrink needs none).
 */

/** Amounts per resource: "CPU", "GPU", "memoryMb" and custom names, in user units (0.5 GPU). */
export type Resources = Readonly<Record<string, number>>;

/** spread: each bundle on a node of its own (STRICT_SPREAD); pack: all on one node (STRICT_PACK); any: wherever. */
export type Placement = 'any' | 'pack' | 'spread';

export interface PendingWork {
  /** Stable while it waits: a task or group id, or a shape key and an index (Ray). */
  id: string;
  /** For the timeline: "task t3", "placement group pg (4 bundles, STRICT_SPREAD)". */
  what: string;
  bundles: readonly Resources[];
  placement: Placement;
  waitedMs: number;
}

export interface NodeUse {
  name: string;
  /** The satellite this node came with; undefined for the main allocation. */
  satellite?: string;
  free: Resources;
  /** How long it has had nothing running or reserved; 0 while busy. */
  idleMs: number;
}

export interface SatelliteUse {
  /** Slurm job id. */
  id: string;
  /** Nodes it asked for. */
  nodes: number;
  /** Its nodes that joined the cluster (and have not left). */
  joined: readonly string[];
  /** queued: in Slurm's queue; running: its agents are up or joining; draining: being shrunk. */
  state: 'queued' | 'running' | 'draining';
}

export interface AutoscaleLimits {
  maxNodes: number;
  idleTimeoutMs: number;
  scaleUpDelayMs: number;
}

export interface AutoscaleInput {
  pending: readonly PendingWork[];
  /** What one node of a satellite brings (the main allocation's worker nodes as granted). */
  shape: Resources;
  /** Every node in the cluster now, the main allocation's included. */
  nodes: readonly NodeUse[];
  satellites: readonly SatelliteUse[];
  limits: AutoscaleLimits;
}

export type AutoscaleDecision =
  | { kind: 'grow'; nodes: number; reason: string }
  | { kind: 'shrink'; satellite: string; nodes: readonly string[]; reason: string }
  /** Work waits that raysl will not grow for (at --max-nodes, or too big for the shape). */
  | { kind: 'wait'; reason: string };

/** Ray's fixed-point precision (1/10000): amounts compared as integers, never as drifting floats. */
const PRECISION = 10_000;

type Bin = Map<string, number>;

function toBin(r: Resources): Bin {
  const bin: Bin = new Map();
  for (const [k, v] of Object.entries(r)) if (v > 0) bin.set(k, Math.round(v * PRECISION));
  return bin;
}

function fits(need: Bin, have: Bin): boolean {
  for (const [k, v] of need) if (v > (have.get(k) ?? 0)) return false;
  return true;
}

function take(need: Bin, from: Bin): void {
  for (const [k, v] of need) from.set(k, (from.get(k) ?? 0) - v);
}

function sum(bundles: readonly Bin[]): Bin {
  const total: Bin = new Map();
  for (const b of bundles) for (const [k, v] of b) total.set(k, (total.get(k) ?? 0) + v);
  return total;
}

/** Bundles as one unit of placement each: a pack group is one unit (its sum). */
function unitsOf(w: PendingWork): Bin[] {
  const bins = w.bundles.map(toBin);
  return w.placement === 'pack' ? [sum(bins)] : bins;
}

/** Why no node of the granted shape could ever hold `w`, or undefined when one could. */
function tooBigForShape(w: PendingWork, shape: Resources, maxNodes: number): string | undefined {
  const node = toBin(shape);
  const units = unitsOf(w);
  const big = units.findIndex((u) => !fits(u, node));
  if (big >= 0) {
    const what = w.placement === 'pack' ? 'its bundles together' : units.length > 1 ? `bundle ${big}` : 'it';
    return `${w.what}: ${what} ${units.length > 1 || w.placement === 'pack' ? 'ask' : 'asks'} for more than one node of the granted shape holds (${describeResources(shape)})`;
  }
  if (w.placement === 'spread' && units.length > maxNodes)
    return `${w.what}: its ${units.length} bundles need ${units.length} nodes of their own, more than --max-nodes ${maxNodes}`;
  return undefined;
}

/**
 * Places `units` into `bins` (mutated only on success), opening at most `canOpen` new bins of
 * `shape` for what fits nowhere. Spread: every unit in a different bin. Returns the bins opened, or
 * undefined when it does not fit.
 */
function place(
  units: readonly Bin[],
  placement: Placement,
  bins: Bin[],
  shape: Bin,
  canOpen: number,
): number | undefined {
  const trial = bins.map((b) => new Map(b));
  const used = new Set<number>();
  let opened = 0;
  // biggest first: the units with the fewest places to go
  const order = [...units].sort((a, b) => size(b) - size(a));
  for (const u of order) {
    let at = trial.findIndex((b, i) => !(placement === 'spread' && used.has(i)) && fits(u, b));
    if (at < 0) {
      if (opened === canOpen || !fits(u, shape)) return undefined;
      trial.push(new Map(shape));
      opened++;
      at = trial.length - 1;
    }
    take(u, trial[at]!);
    used.add(at);
  }
  bins.splice(0, bins.length, ...trial);
  return opened;
}

function size(b: Bin): number {
  let s = 0;
  for (const v of b.values()) s += v;
  return s;
}

/** Nodes that count against --max-nodes: joined ones, and the ones satellites still bring. */
function nodesCounted(
  nodes: readonly NodeUse[],
  satellites: readonly SatelliteUse[],
): { running: number; coming: number } {
  const coming = satellites
    .filter((s) => s.state !== 'draining')
    .reduce((n, s) => n + Math.max(0, s.nodes - s.joined.length), 0);
  return { running: nodes.length, coming };
}

/** The decisions of one round: at most one grow, or any number of shrinks, plus what waits. */
export function autoscale(input: AutoscaleInput): AutoscaleDecision[] {
  const { pending, shape, nodes, satellites, limits } = input;
  const { running, coming } = nodesCounted(nodes, satellites);
  const draining = new Set(satellites.filter((s) => s.state === 'draining').map((s) => s.id));
  const holdable = pending.filter((w) => tooBigForShape(w, shape, limits.maxNodes) === undefined);
  const decisions: AutoscaleDecision[] = [];
  const tooBig = pending.filter((w) => w.waitedMs >= limits.scaleUpDelayMs && !holdable.includes(w));
  if (tooBig.length > 0)
    decisions.push({
      kind: 'wait',
      reason: `${tooBigForShape(tooBig[0]!, shape, limits.maxNodes)!}${more(tooBig.length)}: no satellite is started for it`,
    });

  const due = holdable
    .filter((w) => w.waitedMs >= limits.scaleUpDelayMs)
    .sort((a, b) => b.waitedMs - a.waitedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (due.length > 0) {
    const grow = growFor(due, input, running, coming, draining);
    if (grow.nodes > 0) {
      decisions.push({
        kind: 'grow',
        nodes: grow.nodes,
        reason: `${listWork(grow.served)} waited over ${seconds(limits.scaleUpDelayMs)} and ${grow.served.length === 1 ? 'needs' : 'need'} ${grow.nodes} more node${grow.nodes === 1 ? '' : 's'} of ${describeResources(shape)}; ${running} running + ${coming} coming, --max-nodes ${limits.maxNodes}`,
      });
    }
    if (grow.unserved.length > 0) {
      decisions.push({
        kind: 'wait',
        reason: `${listWork(grow.unserved)} ${grow.unserved.length === 1 ? 'waits' : 'wait'} for room: ${running} running + ${coming + grow.nodes} coming is --max-nodes ${limits.maxNodes}`,
      });
    }
  }
  if (holdable.length === 0) decisions.push(...shrinks(nodes, satellites, limits.idleTimeoutMs));
  return decisions;
}

/** How many new nodes the due work needs, filling free room and coming nodes first. */
function growFor(
  due: readonly PendingWork[],
  input: AutoscaleInput,
  running: number,
  coming: number,
  draining: ReadonlySet<string>,
): { nodes: number; served: PendingWork[]; unserved: PendingWork[] } {
  const shape = toBin(input.shape);
  // a draining satellite's nodes take no new work; coming nodes arrive empty
  const bins: Bin[] = [
    ...input.nodes.filter((n) => n.satellite === undefined || !draining.has(n.satellite)).map((n) => toBin(n.free)),
    ...Array.from({ length: coming }, () => new Map(shape)),
  ];
  let budget = Math.max(0, input.limits.maxNodes - running - coming);
  let opened = 0;
  const served: PendingWork[] = [];
  const unserved: PendingWork[] = [];
  for (const w of due) {
    const n = place(unitsOf(w), w.placement, bins, shape, budget);
    if (n === undefined) {
      unserved.push(w);
      continue;
    }
    budget -= n;
    opened += n;
    if (n > 0) served.push(w);
  }
  return { nodes: opened, served, unserved };
}

function shrinks(
  nodes: readonly NodeUse[],
  satellites: readonly SatelliteUse[],
  idleTimeoutMs: number,
): AutoscaleDecision[] {
  const out: AutoscaleDecision[] = [];
  for (const s of satellites) {
    if (s.state !== 'running' || s.joined.length < s.nodes || s.joined.length === 0) continue;
    const mine = nodes.filter((n) => n.satellite === s.id && s.joined.includes(n.name));
    if (mine.length < s.joined.length || mine.some((n) => n.idleMs < idleTimeoutMs)) continue;
    const idle = Math.min(...mine.map((n) => n.idleMs));
    out.push({
      kind: 'shrink',
      satellite: s.id,
      nodes: s.joined,
      reason: `satellite ${s.id} (${[...s.joined].sort().join(', ')}) idle for ${seconds(idle)}, over --idle-timeout ${seconds(idleTimeoutMs)}, and no work waits`,
    });
  }
  return out;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function more(n: number): string {
  return n > 1 ? ` (and ${n - 1} more)` : '';
}

/** "task t1, task t2, placement group pg (and 4 more)" */
function listWork(ws: readonly PendingWork[]): string {
  const shown = ws.slice(0, 3).map((w) => w.what);
  return `${shown.join(', ')}${ws.length > 3 ? ` (and ${ws.length - 3} more)` : ''}`;
}

/** "4 CPU, 1 GPU, 8000 memoryMb, 1 trainer", keys in a stable order. */
function describeResources(r: Resources): string {
  const order = (k: string) => (k === 'CPU' ? 0 : k === 'GPU' ? 1 : k === 'memoryMb' ? 2 : 3);
  const keys = Object.keys(r)
    .filter((k) => (r[k] ?? 0) > 0)
    .sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
  return keys.length === 0 ? 'no resources' : keys.map((k) => `${r[k]} ${k}`).join(', ');
}

/**
 * How long each key has been seen without a break: the wait of pending work and the idle time of
 * nodes when the runtime does not say (the builtin scheduler has no clock). A key that is absent
 * from one observation starts again from zero when it comes back.
 */
export class SinceTracker {
  private readonly since = new Map<string, number>();

  /** Records the keys present at `nowMs`; returns each one's duration so far. */
  observe(nowMs: number, keys: Iterable<string>): Map<string, number> {
    const seen = new Set(keys);
    for (const k of [...this.since.keys()]) if (!seen.has(k)) this.since.delete(k);
    const out = new Map<string, number>();
    for (const k of seen) {
      if (!this.since.has(k)) this.since.set(k, nowMs);
      out.set(k, Math.max(0, nowMs - this.since.get(k)!));
    }
    return out;
  }
}
