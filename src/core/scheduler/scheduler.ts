/**
 * The builtin runtime's scheduler: Ray's resource model over the nodes of one allocation.
 * Pure and deterministic (no clock, no I/O): the controller calls it and acts on the decisions.
 *
 * - A task is never split across nodes and never exceeds capacity. Fits now -> placed on the first
 *   node in join order with room (pack, like Ray's default); fits later -> pending in submission order;
 *   can never fit on any current node (judged on capacity, not on what is free) -> rejected.
 * - Whenever capacity frees (release, removeGroup, addNode, a group lost with a node) one admission pass
 *   places pending work oldest first (queue.ts). After every call no pending item fits, so a new
 *   submit that fits may be placed at once without jumping anyone who could have run.
 * - A placement group reserves all its bundles or nothing (placement.ts); a reserved bundle is a
 *   sub-pool that tasks targeting {group, bundle} allocate from.
 * - When a node goes, the tasks on it are evicted and every ready group with a bundle on it is lost as
 *   a whole (its other bundles freed, every task inside it evicted): the caller decides whether to
 *   create it again. Pending work that can no longer ever fit is rejected.
 */
import { UsageError } from '../errors.js';
import { whyGroupNeverFits, whyNeverFits, largestNode } from './explain.js';
import { MAX_BUNDLES, placeGroup } from './placement.js';
import {
  allocate,
  canEverFit,
  newPool,
  poolOfHolding,
  release,
  take,
  toGrant,
  type Holding,
  type Pool,
} from './pool.js';
import { PendingQueue, type PendingItem } from './queue.js';
import {
  STRATEGIES,
  type Decision,
  type Grant,
  type GroupResult,
  type NodeCapacity,
  type ResourceRequest,
  type Strategy,
  type SubmitResult,
  type Target,
  type Totals,
} from './types.js';
import {
  CPU_UNIT,
  demandKey,
  fromUnits,
  isEmptyDemand,
  parseCustom,
  parseRequest,
  SHARE_UNIT,
  taskRequest,
  toUnits,
  WHOLE_GPU,
  type Demand,
} from './units.js';

interface RunningTask {
  holding: Holding;
  /** The pool it was taken from: a node's, or a bundle's inside a group. */
  pool: Pool;
  group: string | undefined;
}

interface Group {
  id: string;
  strategy: Strategy;
  demands: Demand[];
  /** Set once reserved: one holding (on a node) and one sub-pool per bundle. */
  holdings: Holding[] | undefined;
  pools: Pool[] | undefined;
  tasks: Set<string>;
}

type Work = { kind: 'task'; id: string; demand: Demand; target: Target } | { kind: 'group'; id: string };

const taskKey = (id: string) => `t:${id}`;
const groupKey = (id: string) => `g:${id}`;

export class Scheduler {
  private readonly nodes = new Map<string, Pool>();
  private readonly tasks = new Map<string, RunningTask>();
  private readonly groups = new Map<string, Group>();
  private readonly queue = new PendingQueue<Work>();
  /** Autoscaling (--max-nodes): nodes of this shape may still come, up to `upTo` nodes in all. */
  private growth: { shape: NodeCapacity; upTo: number } | undefined;

  /**
   * With autoscaling, work that fits only once the cluster grew to `upTo` nodes of `shape` waits
   * (pending) instead of being refused; what would not fit even then is refused as before.
   */
  setGrowth(growth: { shape: NodeCapacity; upTo: number } | undefined): void {
    if (growth) nodePool(growth.shape, new Map()); // validates the shape as a node's
    this.growth = growth;
  }
  /** Nodes being drained (shrink): nothing new is placed there; what runs there keeps its grant. */
  private readonly draining = new Set<string>();

  addNode(cap: NodeCapacity): Decision[] {
    this.nodes.set(cap.name, nodePool(cap, this.nodes));
    return this.admitPending();
  }

  removeNode(name: string): { decisions: Decision[]; evicted: string[]; groupsLost: string[] } {
    const pool = this.nodes.get(name);
    if (!pool) return { decisions: [], evicted: [], groupsLost: [] };
    const evicted: string[] = [];
    const groupsLost: string[] = [];
    const decisions: Decision[] = [];
    for (const g of [...this.groups.values()]) {
      if (g.holdings?.some((h) => h.node === name)) {
        groupsLost.push(g.id);
        evicted.push(...this.dropGroup(g, decisions, `was lost with node ${name}`));
      }
    }
    for (const [id, t] of this.tasks) {
      if (t.holding.node === name) {
        evicted.push(id);
        this.tasks.delete(id);
      }
    }
    this.nodes.delete(name);
    this.draining.delete(name);
    this.rejectHopeless(decisions);
    decisions.push(...this.admitPending());
    return { decisions, evicted, groupsLost };
  }

  /** Places nothing new on `name` from now on (tasks pinned to it wait); its running tasks and groups stay. */
  drainNode(name: string): void {
    if (this.nodes.has(name)) this.draining.add(name);
  }

  /** Whether a running task or a placement group's reservation still holds anything on `name`. */
  holdsOn(name: string): boolean {
    for (const t of this.tasks.values()) if (t.holding.node === name) return true;
    for (const g of this.groups.values()) if (g.holdings?.some((h) => h.node === name)) return true;
    return false;
  }

  submit(id: string, req: ResourceRequest, target: Target = {}): SubmitResult {
    if (this.tasks.has(id) || this.queue.has(taskKey(id)))
      return {
        status: 'rejected',
        reason: `task id ${JSON.stringify(id)} is already in use: give each task its own id`,
      };
    const parsed = parseRequest(taskRequest(req), 1);
    if (!parsed.ok) return { status: 'rejected', reason: `task ${id}: ${parsed.reason}` };
    const demand = parsed.value;
    const bad = this.checkTarget(target);
    if (bad) return { status: 'rejected', reason: `task ${id}: ${bad}` };
    const never = this.whyTaskNeverFits(`task ${id}`, demand, target);
    if (never) return { status: 'rejected', reason: never };
    const placed = this.placeTask(id, demand, target);
    if (placed) return { status: 'placed', grant: placed };
    this.queue.push(taskKey(id), `task|${demandKey(demand)}|${targetKey(target)}`, {
      kind: 'task',
      id,
      demand,
      target,
    });
    return { status: 'pending' };
  }

  release(id: string): Decision[] {
    const t = this.tasks.get(id);
    if (!t) return [];
    this.tasks.delete(id);
    release(t.pool, t.holding);
    if (t.group) this.groups.get(t.group)?.tasks.delete(id);
    return this.admitPending();
  }

  cancel(id: string): boolean {
    return this.queue.remove(taskKey(id)) !== undefined;
  }

  createGroup(id: string, bundles: ResourceRequest[], strategy: Strategy): GroupResult {
    const name = `placement group ${id}`;
    if (this.groups.has(id))
      return { status: 'rejected', reason: `${name} already exists: give each group its own id` };
    if (!STRATEGIES.includes(strategy))
      return {
        status: 'rejected',
        reason: `${name}: unknown strategy ${JSON.stringify(strategy)}; use ${STRATEGIES.join(', ')}`,
      };
    if (!Array.isArray(bundles) || bundles.length === 0)
      return { status: 'rejected', reason: `${name} has no bundles: give at least one, like [{ gpus: 1 }]` };
    if (bundles.length > MAX_BUNDLES)
      return {
        status: 'rejected',
        reason: `${name} has ${bundles.length} bundles; raysl places at most ${MAX_BUNDLES} per group: split it`,
      };
    const demands: Demand[] = [];
    for (const [i, b] of bundles.entries()) {
      const parsed = parseRequest(b, 0);
      if (!parsed.ok) return { status: 'rejected', reason: `bundle ${i} of ${name}: ${parsed.reason}` };
      if (isEmptyDemand(parsed.value))
        return {
          status: 'rejected',
          reason: `bundle ${i} of ${name} asks for nothing: give it cpus, gpus, memoryMb or custom resources`,
        };
      demands.push(parsed.value);
    }
    const ever = placeGroup(this.couldBe(), demands, strategy, true);
    if (ever.kind !== 'found')
      return {
        status: 'rejected',
        reason: whyGroupNeverFits(id, demands, strategy, this.couldBe(), ever.kind === 'gave-up'),
      };
    const group: Group = { id, strategy, demands, holdings: undefined, pools: undefined, tasks: new Set() };
    this.groups.set(id, group);
    const ready = this.reserve(group);
    if (ready) return { status: 'ready', bundles: ready };
    this.queue.push(groupKey(id), `group|${strategy}|${demands.map(demandKey).join(';')}`, { kind: 'group', id });
    return { status: 'pending' };
  }

  removeGroup(id: string): { decisions: Decision[]; evicted: string[] } {
    const g = this.groups.get(id);
    if (!g) return { decisions: [], evicted: [] };
    const decisions: Decision[] = [];
    const evicted = this.dropGroup(g, decisions, 'was removed');
    decisions.push(...this.admitPending());
    return { decisions, evicted };
  }

  totals(): Totals {
    return sumPools([...this.nodes.values()], false);
  }

  /** What is neither held by tasks nor reserved by groups. */
  available(): Totals {
    return sumPools([...this.nodes.values()], true);
  }

  pendingCount(): number {
    return this.queue.size;
  }

  /**
   * What waits that more nodes could serve, oldest first: tasks not pinned to a node or a group,
   * and placement groups (a task inside a group waits for its group). Amounts in user units,
   * keyed as core/autoscale.ts reads them (CPU, GPU, memoryMb, custom names).
   */
  pendingDemand(): PendingDemand[] {
    const out: Array<PendingDemand & { seq: number }> = [];
    for (const items of this.queue.shapes()) {
      for (const it of items) {
        const w = it.work;
        if (w.kind === 'task') {
          if (w.target.node === undefined && w.target.group === undefined)
            out.push({ seq: it.seq, id: w.id, kind: 'task', bundles: [resourcesOf(w.demand)], strategy: 'PACK' });
        } else {
          const g = this.groups.get(w.id);
          if (g)
            out.push({
              seq: it.seq,
              id: g.id,
              kind: 'group',
              bundles: g.demands.map(resourcesOf),
              strategy: g.strategy,
            });
        }
      }
    }
    return out.sort((a, b) => a.seq - b.seq).map(({ seq: _, ...d }) => d);
  }

  /** Each node's free amounts (units as pendingDemand's) and whether nothing runs or is reserved on it. */
  nodeUsage(): Array<{ name: string; free: Record<string, number>; idle: boolean }> {
    return [...this.nodes.values()].map((p) => {
      const idle =
        p.cpuFree === p.cpuCap &&
        p.memFree === p.memCap &&
        p.devices.every((d) => d.free === d.cap) &&
        [...p.customCap].every(([k, v]) => p.customFree.get(k) === v);
      const gpu = p.devices.reduce((a, d) => a + d.free, 0);
      return {
        name: p.name,
        free: resourcesOf({ cpu: p.cpuFree, mem: p.memFree, gpu, custom: [...p.customFree] }),
        idle,
      };
    });
  }

  // ---- internals ----

  /** The nodes there are, plus the ones autoscaling may still bring: what "can this ever fit" is judged on. */
  private couldBe(): Pool[] {
    const now = [...this.nodes.values()];
    if (!this.growth) return now;
    const more = Math.max(0, this.growth.upTo - now.length);
    const shape = this.growth.shape;
    return [
      ...now,
      ...Array.from({ length: more }, (_, i) =>
        nodePool({ ...shape, name: `(new node ${i + 1} of ${more})` }, this.nodes),
      ),
    ];
  }

  private checkTarget(t: Target): string | undefined {
    if (typeof t !== 'object' || t === null)
      return `target must be an object like { node: "n1" } or { group: "g", bundle: 0 }`;
    const unknown = Object.keys(t).filter((k) => !['node', 'group', 'bundle'].includes(k));
    if (unknown.length) return `unknown target field ${unknown.join(', ')}: use node, or group with an optional bundle`;
    if (t.node !== undefined && t.group !== undefined)
      return `a task pins either a node or a placement group, not both`;
    if (t.bundle !== undefined && t.group === undefined)
      return `bundle ${t.bundle} needs a group: target { group, bundle }`;
    if (t.node !== undefined && !this.nodes.has(t.node))
      return `node ${JSON.stringify(t.node)} is not in the cluster; nodes: ${[...this.nodes.keys()].join(', ') || 'none yet'}`;
    if (t.group !== undefined) {
      const g = this.groups.get(t.group);
      if (!g) return `placement group ${JSON.stringify(t.group)} does not exist: create it first`;
      if (t.bundle !== undefined && !(Number.isInteger(t.bundle) && t.bundle >= 0 && t.bundle < g.demands.length)) {
        return `placement group ${t.group} has bundles 0..${g.demands.length - 1}, not ${t.bundle}`;
      }
    }
    return undefined;
  }

  /** A reason if `d` could not fit where `target` points even with nothing else running. */
  private whyTaskNeverFits(subject: string, d: Demand, target: Target): string | undefined {
    if (target.group !== undefined) {
      const g = this.groups.get(target.group);
      if (!g) return `${subject} targets placement group ${target.group}, which no longer exists`;
      // A bundle's size is known before it is reserved: judge against what it asked for.
      const shapes = g.demands.map((b, i) => ({ i, pool: bundleShape(b, `bundle ${i}`) }));
      const candidates = target.bundle === undefined ? shapes : shapes.filter((s) => s.i === target.bundle);
      if (candidates.some((c) => canEverFit(c.pool, d))) return undefined;
      const where = (p: Pool) => `${p.name} of placement group ${target.group}`;
      return whyNeverFits(
        subject,
        d,
        candidates.map((c) => c.pool),
        where,
        true,
      ).replace(/ has /, ' holds ');
    }
    const pools =
      target.node !== undefined
        ? [this.nodes.get(target.node)].filter((p): p is Pool => p !== undefined)
        : this.couldBe();
    if (target.node !== undefined && pools.length === 0)
      return `${subject} is pinned to node ${target.node}, which has left the cluster`;
    if (pools.some((p) => canEverFit(p, d))) return undefined;
    return whyNeverFits(subject, d, pools, largestNode(pools));
  }

  private placeTask(id: string, d: Demand, target: Target): Grant | undefined {
    let pools: Pool[];
    if (target.group !== undefined) {
      const g = this.groups.get(target.group);
      if (!g?.pools) return undefined;
      pools = target.bundle === undefined ? g.pools : [g.pools[target.bundle]!];
    } else {
      pools = (target.node !== undefined ? [this.nodes.get(target.node)!] : [...this.nodes.values()]).filter(
        (p) => !this.draining.has(p.name),
      );
    }
    for (const pool of pools) {
      const holding = allocate(pool, d);
      if (!holding) continue;
      this.tasks.set(id, { holding, pool, group: target.group });
      if (target.group !== undefined) this.groups.get(target.group)!.tasks.add(id);
      return toGrant(holding);
    }
    return undefined;
  }

  private reserve(g: Group): Grant[] | undefined {
    const result = placeGroup(
      [...this.nodes.values()].filter((p) => !this.draining.has(p.name)),
      g.demands,
      g.strategy,
    );
    if (result.kind !== 'found') return undefined;
    for (const h of result.holdings) take(this.nodes.get(h.node)!, h);
    g.holdings = result.holdings;
    g.pools = result.holdings.map(poolOfHolding);
    return result.holdings.map(toGrant);
  }

  /** Frees a group and everything in it, rejecting tasks that waited for it; returns the tasks evicted from it. */
  private dropGroup(g: Group, decisions: Decision[], what: string): string[] {
    this.groups.delete(g.id);
    this.queue.remove(groupKey(g.id));
    const evicted = [...g.tasks];
    for (const id of evicted) this.tasks.delete(id);
    for (const h of g.holdings ?? []) {
      const node = this.nodes.get(h.node);
      if (node) release(node, h);
    }
    for (const items of this.queue.shapes()) {
      const first = items[0]!.work;
      if (first.kind === 'task' && first.target.group === g.id) {
        for (const it of items) {
          this.queue.remove(it.id);
          decisions.push({
            kind: 'rejected',
            id: it.work.id,
            reason: `task ${it.work.id} was waiting for placement group ${g.id}, which ${what}`,
          });
        }
      }
    }
    return evicted;
  }

  /** After capacity shrank for good: reject pending work that can no longer fit anywhere. */
  private rejectHopeless(decisions: Decision[]): void {
    for (const items of this.queue.shapes()) {
      const w = items[0]!.work;
      if (w.kind === 'task') {
        const why = this.whyTaskNeverFits(`task ${w.id}`, w.demand, w.target);
        if (!why) continue;
        for (const it of items.filter((x) => this.queue.has(x.id))) {
          this.queue.remove(it.id);
          decisions.push({
            kind: 'rejected',
            id: it.work.id,
            reason: it === items[0] ? why : why.replace(`task ${w.id}`, `task ${it.work.id}`),
          });
        }
      } else {
        for (const it of items) {
          const g = this.groups.get(it.work.id);
          if (!g || !this.queue.has(it.id)) continue;
          const ever = placeGroup(this.couldBe(), g.demands, g.strategy, true);
          if (ever.kind !== 'none') continue; // a search that ran out of budget proves nothing: keep waiting
          decisions.push({
            kind: 'group-rejected',
            group: g.id,
            reason: whyGroupNeverFits(g.id, g.demands, g.strategy, this.couldBe(), false),
          });
          this.dropGroup(g, decisions, 'can no longer be placed');
        }
      }
    }
  }

  private admitPending(): Decision[] {
    const decisions: Decision[] = [];
    this.queue.pass((item: PendingItem<Work>) => {
      const w = item.work;
      if (w.kind === 'task') {
        const grant = this.placeTask(w.id, w.demand, w.target);
        if (grant) decisions.push({ kind: 'placed', id: w.id, grant });
        return grant !== undefined;
      }
      const bundles = this.reserve(this.groups.get(w.id)!);
      if (bundles) decisions.push({ kind: 'group-ready', group: w.id, bundles });
      return bundles !== undefined;
    });
    return decisions;
  }
}

/** One piece of waiting work as core/autoscale.ts reads it. */
export interface PendingDemand {
  id: string;
  kind: 'task' | 'group';
  bundles: Array<Record<string, number>>;
  strategy: Strategy;
}

function resourcesOf(d: Demand): Record<string, number> {
  const out: Record<string, number> = {};
  if (d.cpu > 0) out.CPU = fromUnits(d.cpu, CPU_UNIT);
  if (d.gpu > 0) out.GPU = fromUnits(d.gpu, SHARE_UNIT);
  if (d.mem > 0) out.memoryMb = d.mem;
  for (const [k, v] of d.custom) if (v > 0) out[k] = fromUnits(v, SHARE_UNIT);
  return out;
}

function targetKey(t: Target): string {
  return t.group !== undefined
    ? `group=${t.group}#${t.bundle ?? '*'}`
    : t.node !== undefined
      ? `node=${t.node}`
      : 'any';
}

/** A bundle's request as an empty pool of the shape its reservation will have. */
function bundleShape(d: Demand, name: string): Pool {
  const devices =
    d.gpu >= WHOLE_GPU
      ? Array.from({ length: d.gpu / WHOLE_GPU }, (_, i) => ({ id: `gpu${i}`, cap: WHOLE_GPU }))
      : d.gpu > 0
        ? [{ id: 'gpu0', cap: d.gpu }]
        : [];
  return newPool(name, d.cpu, d.mem, d.custom, devices);
}

function nodePool(cap: NodeCapacity, existing: Map<string, Pool>): Pool {
  const hint = { hint: 'a node capacity is { name, cpus, gpuIds: [...], memoryMb?, custom? } as the agent reports it' };
  if (typeof cap?.name !== 'string' || cap.name === '')
    throw new UsageError(`a node needs a name, got ${JSON.stringify(cap?.name)}`, hint);
  if (existing.has(cap.name))
    throw new UsageError(`node ${cap.name} joined twice`, { hint: 'remove the node before adding it again' });
  const cpu = toUnits(`node ${cap.name}: cpus`, cap.cpus, CPU_UNIT);
  if (!cpu.ok) throw new UsageError(cpu.reason, hint);
  const mem = toUnits(`node ${cap.name}: memoryMb`, cap.memoryMb ?? 0, 1);
  if (!mem.ok) throw new UsageError(mem.reason, hint);
  const custom = parseCustom(cap.custom);
  if (!custom.ok) throw new UsageError(`node ${cap.name}: ${custom.reason}`, hint);
  const ids = cap.gpuIds ?? [];
  if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string' || i === '') || new Set(ids).size !== ids.length) {
    throw new UsageError(
      `node ${cap.name}: gpuIds must be distinct non-empty strings, got ${JSON.stringify(ids)}`,
      hint,
    );
  }
  return newPool(
    cap.name,
    cpu.value,
    mem.value,
    custom.value,
    ids.map((id) => ({ id, cap: WHOLE_GPU })),
  );
}

function sumPools(pools: readonly Pool[], free: boolean): Totals {
  let cpu = 0;
  let mem = 0;
  let gpu = 0;
  const custom = new Map<string, number>();
  for (const p of pools) {
    cpu += free ? p.cpuFree : p.cpuCap;
    mem += free ? p.memFree : p.memCap;
    for (const d of p.devices) gpu += free ? d.free : d.cap;
    for (const [k, v] of free ? p.customFree : p.customCap) custom.set(k, (custom.get(k) ?? 0) + v);
  }
  const out: Record<string, number> = {};
  for (const [k, v] of [...custom].sort(([a], [b]) => (a < b ? -1 : 1))) out[k] = fromUnits(v, SHARE_UNIT);
  return {
    nodes: pools.length,
    cpus: fromUnits(cpu, CPU_UNIT),
    gpus: fromUnits(gpu, SHARE_UNIT),
    memoryMb: mem,
    custom: out,
  };
}
