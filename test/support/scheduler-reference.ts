/**
 * Slow, obviously-correct references for the scheduler's property tests: plain loops and exhaustive
 * enumeration over integer units, written independently of src/core/scheduler (no shared code).
 */
import fc from 'fast-check';
import type { Grant, NodeCapacity, ResourceRequest, Strategy } from '../../src/core/scheduler/index.js';

export const WHOLE = 10_000;

/** A node's free capacity in integer units; dev[i] is the free share of device i (of WHOLE). */
export interface RefNode {
  name: string;
  cpu: number;
  mem: number;
  ib: number;
  devIds: string[];
  dev: number[];
}

export interface RefReq {
  cpu: number;
  mem: number;
  ib: number;
  gpu: number;
}

export const refReq = (r: ResourceRequest, defaultCpus: number): RefReq => ({
  cpu: Math.round((r.cpus ?? defaultCpus) * 1000),
  mem: r.memoryMb ?? 0,
  ib: Math.round((r.custom?.ib ?? 0) * WHOLE),
  gpu: Math.round((r.gpus ?? 0) * WHOLE),
});

export const refNode = (c: NodeCapacity): RefNode => ({
  name: c.name,
  cpu: Math.round(c.cpus * 1000),
  mem: c.memoryMb ?? 0,
  ib: Math.round((c.custom?.ib ?? 0) * WHOLE),
  devIds: [...c.gpuIds],
  dev: c.gpuIds.map(() => WHOLE),
});

/** Takes a grant's amounts out of a reference node (independent bookkeeping from the grants alone). */
export function refTake(n: RefNode, g: Grant): void {
  n.cpu -= Math.round(g.cpus * 1000);
  n.mem -= g.memoryMb;
  n.ib -= Math.round((g.custom.ib ?? 0) * WHOLE);
  for (const d of g.gpus) n.dev[n.devIds.indexOf(d.id)]! -= Math.round(d.share * WHOLE);
}

const clone = (n: RefNode): RefNode => ({ ...n, dev: [...n.dev] });

function subsets(items: number[], k: number): number[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

/** Every way to give `gpu` units on this node: lists of device indexes. */
export function gpuOptions(n: RefNode, gpu: number): number[][] {
  if (gpu === 0) return [[]];
  if (gpu < WHOLE) return n.dev.flatMap((free, i) => (free >= gpu ? [[i]] : []));
  return subsets(
    n.dev.flatMap((free, i) => (free === WHOLE ? [i] : [])),
    gpu / WHOLE,
  );
}

export function fitsAlone(n: RefNode, r: RefReq): boolean {
  return r.cpu <= n.cpu && r.mem <= n.mem && r.ib <= n.ib && gpuOptions(n, r.gpu).length > 0;
}

/** Exhaustive: can all of `reqs` share this one node (every device choice for every request)? */
export function allFitOnNode(n: RefNode, reqs: RefReq[]): boolean {
  const sum = reqs.reduce((a, r) => ({ cpu: a.cpu + r.cpu, mem: a.mem + r.mem, ib: a.ib + r.ib }), {
    cpu: 0,
    mem: 0,
    ib: 0,
  });
  if (sum.cpu > n.cpu || sum.mem > n.mem || sum.ib > n.ib) return false;
  const go = (k: number, dev: number[]): boolean => {
    if (k === reqs.length) return true;
    const r = reqs[k]!;
    const per = r.gpu >= WHOLE ? WHOLE : r.gpu;
    return gpuOptions({ ...n, dev }, r.gpu).some((opt) => {
      const next = [...dev];
      for (const i of opt) next[i]! -= per;
      return go(k + 1, next);
    });
  };
  return go(0, [...n.dev]);
}

/** Every assignment bundle -> node index (nodes^bundles), filtered by `ok`. */
function* assignments(nodes: number, bundles: number): Generator<number[]> {
  const a = new Array<number>(bundles).fill(0);
  if (bundles === 0) return yield [];
  for (;;) {
    yield [...a];
    let i = 0;
    while (i < bundles && ++a[i]! === nodes) a[i++] = 0;
    if (i === bundles) return;
  }
}

/** The distinct-node counts of every feasible assignment of the group, exhaustively. */
export function feasibleNodeCounts(nodes: RefNode[], reqs: RefReq[], strategy: Strategy): number[] {
  const counts: number[] = [];
  if (nodes.length === 0) return counts;
  for (const a of assignments(nodes.length, reqs.length)) {
    const used = new Set(a);
    if (strategy === 'STRICT_PACK' && used.size > 1) continue;
    if (strategy === 'STRICT_SPREAD' && used.size < reqs.length) continue;
    const ok = [...used].every((j) =>
      allFitOnNode(
        clone(nodes[j]!),
        reqs.filter((_, b) => a[b] === j),
      ),
    );
    if (ok) counts.push(used.size);
  }
  return counts;
}

// ---- generators ----

export const nodeArb = (name: string) =>
  fc
    .record({
      cpus: fc.constantFrom(0, 1, 2, 4),
      gpus: fc.integer({ min: 0, max: 3 }),
      memoryMb: fc.constantFrom(0, 1000, 2000),
      ib: fc.constantFrom(0, 1, 2),
    })
    .map(
      ({ cpus, gpus, memoryMb, ib }): NodeCapacity => ({
        name,
        cpus,
        gpuIds: Array.from({ length: gpus }, (_, i) => `${name}-gpu${i}`),
        memoryMb,
        custom: ib ? { ib } : {},
      }),
    );

export const clusterArb = (min: number, max: number) =>
  fc.integer({ min, max }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(`n${i}`))));

export const requestArb: fc.Arbitrary<ResourceRequest> = fc
  .record({
    cpus: fc.constantFrom(0, 0.5, 1, 2, 3),
    gpus: fc.constantFrom(0, 0, 0.1, 0.25, 0.3, 0.5, 0.7, 1, 1, 2, 3),
    memoryMb: fc.constantFrom(0, 0, 500, 1000),
    ib: fc.constantFrom(0, 0, 0, 1),
  })
  .map(({ cpus, gpus, memoryMb, ib }): ResourceRequest => ({ cpus, gpus, memoryMb, custom: ib ? { ib } : {} }));

/** Bundles must ask for something; a bundle of only zeros becomes one CPU. */
export const bundleArb = requestArb.map((r) =>
  r.cpus || r.gpus || r.memoryMb || r.custom?.ib ? r : { ...r, cpus: 1 },
);

/** Seeds are fixed so failures reproduce; SCHED_SEED overrides to explore. fast-check prints the seed and path on failure. */
export const fcOptions = (numRuns: number) => ({ seed: Number(process.env.SCHED_SEED ?? 20261130), numRuns });
