/**
 * Where a placement group's bundles go: all of them or none.
 *
 * - STRICT_PACK: every bundle on one node (tried node by node, in join order).
 * - STRICT_SPREAD: each bundle on its own node. That is a bipartite matching (bundle -> a node it fits
 *   alone), solved exactly with augmenting paths, so a big bundle is never starved by a small one
 *   that took the only big node.
 * - PACK / SPREAD: a depth-first search over (bundle -> node, device) that finds an assignment whenever
 *   one exists, then keeps improving it by branch and bound: PACK minimises the number of nodes used
 *   (one when STRICT_PACK fits), SPREAD maximises it (every bundle apart when STRICT_SPREAD fits).
 *
 * Several bundles on one node must also share its GPU devices, which is bin packing: the search tries
 * every device a fractional bundle could take (one per distinct free share; equal devices are
 * interchangeable) and whole-GPU bundles take the first completely free devices (all such devices are
 * alike). Bundles are tried biggest first, which finds an answer fast in the common cases.
 *
 * Pruning: what is left to place must fit, summed, in what is left free (per CPU, memory, GPU share,
 * whole free devices, custom resource); PACK stops at a lower bound on the node count.
 * Step budget: the search stops after SEARCH_STEP_BUDGET node choices. Groups of a few dozen bundles
 * finish far below it; for a huge group the first assignment found (if any) is used, and if none was
 * found within the budget the answer is 'gave-up' (the scheduler keeps such a group pending when the
 * cluster is busy, and rejects it when even the empty cluster could not be searched).
 */
import { WHOLE_GPU, type Demand } from './units.js';
import type { Holding, Pool } from './pool.js';
import type { Strategy } from './types.js';

export const SEARCH_STEP_BUDGET = 50_000;
/** The search recurses once per bundle; past this a group is refused rather than risk the stack. */
export const MAX_BUNDLES = 1000;

export type PlacementResult = { kind: 'found'; holdings: Holding[] } | { kind: 'none' } | { kind: 'gave-up' };

/** A node's free capacity as the search mutates it (a copy; the real pools are untouched). */
interface Slot {
  name: string;
  cpu: number;
  mem: number;
  custom: Map<string, number>;
  devIds: string[];
  devCap: number[];
  devFree: number[];
}

function slotOf(pool: Pool, empty: boolean): Slot {
  return {
    name: pool.name,
    cpu: empty ? pool.cpuCap : pool.cpuFree,
    mem: empty ? pool.memCap : pool.memFree,
    custom: new Map(empty ? pool.customCap : pool.customFree),
    devIds: pool.devices.map((d) => d.id),
    devCap: pool.devices.map((d) => d.cap),
    devFree: pool.devices.map((d) => (empty ? d.cap : d.free)),
  };
}

function scalarsFit(s: Slot, d: Demand): boolean {
  return d.cpu <= s.cpu && d.mem <= s.mem && d.custom.every(([k, v]) => v <= (s.custom.get(k) ?? 0));
}

/** Every essentially different way to give `gpu` share units from this slot's devices. */
function deviceChoices(s: Slot, gpu: number): number[][] {
  if (gpu === 0) return [[]];
  if (gpu >= WHOLE_GPU) {
    const want = gpu / WHOLE_GPU;
    const free: number[] = [];
    for (let i = 0; i < s.devFree.length && free.length < want; i++)
      if (s.devCap[i] === WHOLE_GPU && s.devFree[i] === WHOLE_GPU) free.push(i);
    return free.length === want ? [free] : [];
  }
  const seen = new Set<string>();
  const out: number[] = [];
  for (let i = 0; i < s.devFree.length; i++) {
    const key = `${s.devCap[i]}/${s.devFree[i]}`;
    if (s.devFree[i]! >= gpu && !seen.has(key)) {
      seen.add(key);
      out.push(i);
    }
  }
  // best fit first: the fullest device that still fits
  out.sort((a, b) => s.devFree[a]! - s.devFree[b]! || a - b);
  return out.map((i) => [i]);
}

function apply(s: Slot, d: Demand, devs: number[], sign: 1 | -1): void {
  s.cpu -= sign * d.cpu;
  s.mem -= sign * d.mem;
  for (const [k, v] of d.custom) s.custom.set(k, (s.custom.get(k) ?? 0) - sign * v);
  const per = devs.length > 1 ? WHOLE_GPU : d.gpu;
  for (const i of devs) s.devFree[i]! -= sign * per;
}

function holdingOf(s: Slot, d: Demand, devs: number[]): Holding {
  const per = devs.length > 1 ? WHOLE_GPU : d.gpu;
  return {
    node: s.name,
    cpu: d.cpu,
    mem: d.mem,
    custom: d.custom,
    gpus: devs.map((i) => ({ id: s.devIds[i]!, units: per })),
  };
}

/** Bigger bundles first: they have the fewest places to go. Stable, so equal bundles keep their order. */
function biggestFirst(bundles: readonly Demand[]): number[] {
  const size = (d: Demand) => [d.gpu, d.cpu, d.mem, d.custom.reduce((a, [, v]) => a + v, 0)];
  return bundles
    .map((_, i) => i)
    .sort((a, b) => {
      const sa = size(bundles[a]!);
      const sb = size(bundles[b]!);
      for (let k = 0; k < sa.length; k++) if (sa[k] !== sb[k]) return sb[k]! - sa[k]!;
      return a - b;
    });
}

type Goal = 'any' | 'fewest-nodes' | 'most-nodes';

/** Amounts summed over bundles or over slots, for pruning: what is left to place must fit what is left free. */
interface Volume {
  cpu: number;
  mem: number;
  gpu: number;
  /** whole GPUs asked for / whole devices completely free */
  whole: number;
  custom: Map<string, number>;
}

const emptyVolume = (): Volume => ({ cpu: 0, mem: 0, gpu: 0, whole: 0, custom: new Map() });

function fitsVolume(need: Volume, have: Volume): boolean {
  if (need.cpu > have.cpu || need.mem > have.mem || need.gpu > have.gpu || need.whole > have.whole) return false;
  for (const [k, v] of need.custom) if (v > (have.custom.get(k) ?? 0)) return false;
  return true;
}

function slotVolume(slots: readonly Slot[]): Volume {
  const v = emptyVolume();
  for (const s of slots) {
    v.cpu += s.cpu;
    v.mem += s.mem;
    s.devFree.forEach((f, i) => {
      v.gpu += f;
      if (f === WHOLE_GPU && s.devCap[i] === WHOLE_GPU) v.whole++;
    });
    for (const [k, x] of s.custom) v.custom.set(k, (v.custom.get(k) ?? 0) + x);
  }
  return v;
}

/** rest[k] = what bundles order[k..] ask for together. */
function suffixVolumes(bundles: readonly Demand[], order: readonly number[]): Volume[] {
  const rest: Volume[] = [emptyVolume()];
  for (let k = order.length - 1; k >= 0; k--) {
    const d = bundles[order[k]!]!;
    const prev = rest[0]!;
    const v: Volume = {
      cpu: prev.cpu + d.cpu,
      mem: prev.mem + d.mem,
      gpu: prev.gpu + d.gpu,
      whole: prev.whole + (d.gpu >= WHOLE_GPU ? d.gpu / WHOLE_GPU : 0),
      custom: new Map(prev.custom),
    };
    for (const [key, x] of d.custom) v.custom.set(key, (v.custom.get(key) ?? 0) + x);
    rest.unshift(v);
  }
  return rest;
}

/** The fewest nodes that could hold `need` in any one dimension: the biggest nodes first, until it is covered. */
function fewestNodesBound(slots: readonly Slot[], need: Volume): number {
  const nodesFor = (want: number, have: number[]) => {
    if (want <= 0) return 0;
    const sorted = [...have].sort((a, b) => b - a);
    let sum = 0;
    for (let i = 0; i < sorted.length; i++) if ((sum += sorted[i]!) >= want) return i + 1;
    return sorted.length;
  };
  const bounds = [
    nodesFor(
      need.cpu,
      slots.map((s) => s.cpu),
    ),
    nodesFor(
      need.mem,
      slots.map((s) => s.mem),
    ),
    nodesFor(
      need.gpu,
      slots.map((s) => s.devFree.reduce((a, f) => a + f, 0)),
    ),
    ...[...need.custom].map(([k, v]) =>
      nodesFor(
        v,
        slots.map((s) => s.custom.get(k) ?? 0),
      ),
    ),
  ];
  return Math.max(1, ...bounds);
}

class Search {
  steps = 0;
  gaveUp = false;
  best: { score: number; holdings: Holding[] } | undefined;
  private readonly uses: number[];
  private distinct = 0;
  private readonly current: Holding[] = [];
  private readonly order: number[];
  private readonly optimum: number;
  private readonly rest: Volume[];
  private readonly free: Volume;

  constructor(
    private readonly slots: Slot[],
    private readonly bundles: readonly Demand[],
    private readonly goal: Goal,
    private readonly budget: { left: number },
  ) {
    this.uses = slots.map(() => 0);
    this.order = biggestFirst(bundles);
    this.rest = suffixVolumes(bundles, this.order);
    this.free = slotVolume(slots);
    this.optimum =
      goal === 'most-nodes' ? Math.min(bundles.length, slots.length) : fewestNodesBound(slots, this.rest[0]!);
  }

  run(): void {
    this.dfs(0);
  }

  private done(): boolean {
    if (this.gaveUp) return true;
    if (!this.best) return false;
    return this.goal === 'any' || this.best.score === this.optimum;
  }

  private dfs(k: number): void {
    if (k === this.order.length) {
      const score = this.distinct;
      const better = !this.best || (this.goal === 'most-nodes' ? score > this.best.score : score < this.best.score);
      if (better) this.best = { score, holdings: [...this.current] };
      return;
    }
    if (!fitsVolume(this.rest[k]!, this.free)) return;
    if (this.best && this.goal === 'most-nodes') {
      const unused = this.uses.filter((u) => u === 0).length;
      if (this.distinct + Math.min(this.order.length - k, unused) <= this.best.score) return;
    }
    const bi = this.order[k]!;
    const d = this.bundles[bi]!;
    for (const j of this.nodeOrder()) {
      const s = this.slots[j]!;
      const opensNode = this.uses[j] === 0;
      if (this.best && this.goal === 'fewest-nodes' && this.distinct + (opensNode ? 1 : 0) >= this.best.score) continue;
      if (!scalarsFit(s, d)) continue;
      for (const devs of deviceChoices(s, d.gpu)) {
        if (--this.budget.left < 0) {
          this.gaveUp = true;
          return;
        }
        this.steps++;
        this.account(s, d, devs, 1);
        this.uses[j]!++;
        if (opensNode) this.distinct++;
        this.current[bi] = holdingOf(s, d, devs);
        this.dfs(k + 1);
        if (opensNode) this.distinct--;
        this.uses[j]!--;
        this.account(s, d, devs, -1);
        if (this.done()) return;
      }
    }
  }

  /** apply() plus the running free volume. */
  private account(s: Slot, d: Demand, devs: number[], sign: 1 | -1): void {
    const wholeBefore = devs.filter((i) => s.devFree[i] === WHOLE_GPU && s.devCap[i] === WHOLE_GPU).length;
    apply(s, d, devs, sign);
    const wholeAfter = devs.filter((i) => s.devFree[i] === WHOLE_GPU && s.devCap[i] === WHOLE_GPU).length;
    this.free.whole += wholeAfter - wholeBefore;
    this.free.cpu -= sign * d.cpu;
    this.free.mem -= sign * d.mem;
    this.free.gpu -= sign * d.gpu;
    for (const [k, v] of d.custom) this.free.custom.set(k, (this.free.custom.get(k) ?? 0) - sign * v);
  }

  /** PACK tries nodes already in use first; SPREAD tries unused nodes first, then the least used. */
  private nodeOrder(): number[] {
    const idx = this.slots.map((_, j) => j);
    if (this.goal === 'fewest-nodes')
      return idx.sort((a, b) => Number(this.uses[a] === 0) - Number(this.uses[b] === 0) || a - b);
    if (this.goal === 'most-nodes') return idx.sort((a, b) => this.uses[a]! - this.uses[b]! || a - b);
    return idx;
  }
}

function strictPack(slots: Slot[], bundles: readonly Demand[], budget: { left: number }): PlacementResult {
  let gaveUp = false;
  for (const s of slots) {
    const search = new Search([s], bundles, 'any', budget);
    search.run();
    if (search.best) return { kind: 'found', holdings: search.best.holdings };
    if (search.gaveUp) gaveUp = true;
  }
  return gaveUp ? { kind: 'gave-up' } : { kind: 'none' };
}

/** Fits `d` alone on slot s (one bundle per node, so no sharing between bundles to think about). */
function fitsAlone(s: Slot, d: Demand): number[] | undefined {
  if (!scalarsFit(s, d)) return undefined;
  return deviceChoices(s, d.gpu)[0];
}

/** Maximum bipartite matching bundle -> node (Kuhn's augmenting paths); exact, O(bundles * edges). */
function strictSpread(slots: Slot[], bundles: readonly Demand[]): PlacementResult {
  if (bundles.length > slots.length) return { kind: 'none' };
  const fits = bundles.map((d) => slots.map((s) => fitsAlone(s, d) !== undefined));
  const ownerOf: number[] = slots.map(() => -1);
  const augment = (b: number, seen: boolean[]): boolean => {
    // a free node first (keeps the obvious assignment), then paths that move earlier bundles over
    const direct = slots.findIndex((_, j) => fits[b]![j] && ownerOf[j] === -1);
    if (direct >= 0) {
      ownerOf[direct] = b;
      return true;
    }
    for (let j = 0; j < slots.length; j++) {
      if (!fits[b]![j] || seen[j]) continue;
      seen[j] = true;
      if (ownerOf[j] === -1 || augment(ownerOf[j]!, seen)) {
        ownerOf[j] = b;
        return true;
      }
    }
    return false;
  };
  for (const b of biggestFirst(bundles))
    if (
      !augment(
        b,
        slots.map(() => false),
      )
    )
      return { kind: 'none' };
  const holdings: Holding[] = new Array(bundles.length);
  ownerOf.forEach((b, j) => {
    if (b < 0) return;
    const s = slots[j]!;
    const d = bundles[b]!;
    holdings[b] = holdingOf(s, d, fitsAlone(s, d)!);
  });
  return { kind: 'found', holdings };
}

/**
 * Places all bundles on the pools' free capacity (or, with `empty`, on the pools as if nothing ran:
 * the "could this group ever fit" question). Holdings come back in bundle order.
 */
export function placeGroup(
  pools: readonly Pool[],
  bundles: readonly Demand[],
  strategy: Strategy,
  empty = false,
  budgetSteps = SEARCH_STEP_BUDGET,
): PlacementResult {
  const slots = () => pools.map((p) => slotOf(p, empty));
  const budget = { left: budgetSteps };
  if (strategy === 'STRICT_SPREAD') return strictSpread(slots(), bundles);
  if (strategy === 'STRICT_PACK') return strictPack(slots(), bundles, budget);
  if (strategy === 'PACK') {
    const one = strictPack(slots(), bundles, budget);
    if (one.kind === 'found') return one;
  } else {
    const apart = strictSpread(slots(), bundles);
    if (apart.kind === 'found') return apart;
  }
  const search = new Search(slots(), bundles, strategy === 'PACK' ? 'fewest-nodes' : 'most-nodes', budget);
  search.run();
  if (search.best) return { kind: 'found', holdings: search.best.holdings };
  return search.gaveUp ? { kind: 'gave-up' } : { kind: 'none' };
}
