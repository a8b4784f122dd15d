// Property tests: the scheduler against slow brute-force references (test/support/scheduler-reference.ts)
// over thousands of random, seeded instances. A failure prints fast-check's seed and path to replay.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Scheduler,
  STRATEGIES,
  type Grant,
  type NodeCapacity,
  type ResourceRequest,
  type Strategy,
} from '../../src/core/scheduler/index.js';
import {
  allFitOnNode,
  bundleArb,
  clusterArb,
  fcOptions,
  feasibleNodeCounts,
  fitsAlone,
  refNode,
  refReq,
  refTake,
  requestArb,
  WHOLE,
  type RefNode,
} from '../support/scheduler-reference.js';

/** A cluster with some tasks already running, and the reference's own view of what is free. */
function busyCluster(caps: NodeCapacity[], prior: ResourceRequest[]): { s: Scheduler; free: RefNode[] } {
  const s = new Scheduler();
  for (const c of caps) s.addNode(c);
  const free = caps.map(refNode);
  prior.forEach((p, i) => {
    const r = s.submit(`p${i}`, p);
    if (r.status === 'placed') refTake(free.find((n) => n.name === r.grant.node)!, r.grant);
  });
  return { s, free };
}

const nonNegative = (n: RefNode) => n.cpu >= 0 && n.mem >= 0 && n.ib >= 0 && n.dev.every((d) => d >= 0);

describe('admission (one task) equals brute force over nodes and devices', () => {
  it('placed on the first node with room, best-fit device; pending iff only capacity is short; rejected iff it never fits', () => {
    fc.assert(
      fc.property(clusterArb(1, 4), fc.array(requestArb, { maxLength: 8 }), requestArb, (caps, prior, req) => {
        const { s, free } = busyCluster(caps, prior);
        const want = refReq(req, 1);
        const ever = caps.map(refNode).some((n) => fitsAlone(n, want));
        const first = free.findIndex((n) => fitsAlone(n, want));
        const r = s.submit('q', req);
        if (!ever) {
          expect(r.status).toBe('rejected');
          return;
        }
        if (first < 0) {
          expect(r.status).toBe('pending');
          return;
        }
        expect(r.status).toBe('placed');
        if (r.status !== 'placed') return;
        const node = free[first]!;
        expect(r.grant.node).toBe(node.name);
        if (want.gpu > 0 && want.gpu < WHOLE) {
          const bestFree = Math.min(...node.dev.filter((d) => d >= want.gpu));
          expect(r.grant.gpus).toEqual([{ id: node.devIds[node.dev.indexOf(bestFree)], share: want.gpu / WHOLE }]);
        } else if (want.gpu >= WHOLE) {
          const whole = node.devIds.filter((_, i) => node.dev[i] === WHOLE).slice(0, want.gpu / WHOLE);
          expect(r.grant.gpus).toEqual(whole.map((id) => ({ id, share: 1 })));
        } else expect(r.grant.gpus).toEqual([]);
        refTake(node, r.grant);
        expect(nonNegative(node)).toBe(true);
      }),
      fcOptions(3000),
    );
  });
});

/** The bundles a group got: each exactly what was asked, all on the free capacity at once. */
function checkBundles(free: RefNode[], asked: ResourceRequest[], got: Grant[]): Set<string> {
  expect(got).toHaveLength(asked.length);
  const after = free.map((n) => ({ ...n, dev: [...n.dev] }));
  got.forEach((g, i) => {
    const want = refReq(asked[i]!, 0);
    expect([Math.round(g.cpus * 1000), g.memoryMb, Math.round((g.custom.ib ?? 0) * WHOLE)]).toEqual([
      want.cpu,
      want.mem,
      want.ib,
    ]);
    expect(Math.round(g.gpus.reduce((a, d) => a + d.share, 0) * WHOLE)).toBe(want.gpu);
    expect(new Set(g.gpus.map((d) => d.id)).size).toBe(g.gpus.length);
    if (want.gpu >= WHOLE) expect(g.gpus.every((d) => d.share === 1)).toBe(true);
    refTake(after.find((n) => n.name === g.node)!, g);
  });
  expect(after.every(nonNegative)).toBe(true);
  return new Set(got.map((g) => g.node));
}

describe.each(STRATEGIES)('placement group %s equals exhaustive search', (strategy: Strategy) => {
  it('ready iff an assignment fits the free capacity, pending iff only the empty cluster fits it, else rejected', () => {
    fc.assert(
      fc.property(
        clusterArb(1, 4),
        fc.array(requestArb, { maxLength: 4 }),
        fc.array(bundleArb, { minLength: 1, maxLength: 4 }),
        (caps, prior, bundles) => {
          const { s, free } = busyCluster(caps, prior);
          const reqs = bundles.map((b) => refReq(b, 0));
          const now = feasibleNodeCounts(free, reqs, strategy);
          const ever = feasibleNodeCounts(caps.map(refNode), reqs, strategy);
          const r = s.createGroup('g', bundles, strategy);
          if (ever.length === 0) {
            expect(r).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/placement group g/) });
            return;
          }
          if (now.length === 0) {
            expect(r.status).toBe('pending');
            return;
          }
          expect(r.status).toBe('ready');
          if (r.status !== 'ready') return;
          const used = checkBundles(free, bundles, r.bundles);
          if (strategy === 'STRICT_PACK') expect(used.size).toBe(1);
          if (strategy === 'STRICT_SPREAD') expect(used.size).toBe(bundles.length);
          if (strategy === 'PACK') expect(used.size).toBe(Math.min(...now));
          if (strategy === 'SPREAD') expect(used.size).toBe(Math.max(...now));
        },
      ),
      fcOptions(1500),
    );
  });
});

describe('fractional bundles sharing devices (bin packing) equal exhaustive search', () => {
  const gpuOnly = fc.constantFrom(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7).map((gpus): ResourceRequest => ({ gpus }));
  const smallGpuCluster = fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 })
    .map((gs) =>
      gs.map((g, i): NodeCapacity => ({ name: `n${i}`, cpus: 8, gpuIds: Array.from({ length: g }, (_, d) => `${d}`) })),
    );
  it('ready iff some assignment of bundles to devices exists', () => {
    fc.assert(
      fc.property(
        smallGpuCluster,
        fc.array(gpuOnly, { minLength: 2, maxLength: 6 }),
        fc.constantFrom(...STRATEGIES),
        (caps, bundles, strategy) => {
          const s = new Scheduler();
          for (const c of caps) s.addNode(c);
          const feasible = feasibleNodeCounts(
            caps.map(refNode),
            bundles.map((b) => refReq(b, 0)),
            strategy,
          );
          const r = s.createGroup('g', bundles, strategy);
          expect(r.status).toBe(feasible.length > 0 ? 'ready' : 'rejected');
          if (r.status === 'ready') checkBundles(caps.map(refNode), bundles, r.bundles);
        },
      ),
      fcOptions(1500),
    );
  });

  // Tight instances: cut each device's whole share into pieces, shuffle them, sometimes grow one piece.
  // Greedy packing (best fit, biggest first) fails some of these; only a real search places them all.
  const tight = fc
    .array(fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 2 }), { minLength: 2, maxLength: 3 })
    .chain((cuts) => {
      const pieces = cuts.flatMap((c) => {
        const at = [0, ...[...c].sort((a, b) => a - b), 10];
        return at.slice(1).map((x, i) => x - at[i]!);
      });
      return fc.tuple(
        fc.constant(cuts.length),
        fc.shuffledSubarray(pieces, { minLength: pieces.length, maxLength: pieces.length }),
        fc.boolean(),
      );
    });
  it('tight instances: ready iff the pieces can be put back together', () => {
    fc.assert(
      fc.property(tight, fc.constantFrom<Strategy>('STRICT_PACK', 'PACK'), ([devices, tenths, grow], strategy) => {
        const pieces = grow ? tenths.map((t, i) => (i === 0 && t < 9 ? t + 1 : t)) : tenths;
        const bundles = pieces.map((t): ResourceRequest => ({ gpus: t / 10 }));
        const node: NodeCapacity = { name: 'n0', cpus: 8, gpuIds: Array.from({ length: devices }, (_, d) => `${d}`) };
        const s = new Scheduler();
        s.addNode(node);
        const feasible = allFitOnNode(
          refNode(node),
          bundles.map((b) => refReq(b, 0)),
        );
        const r = s.createGroup('g', bundles, strategy);
        expect(r.status).toBe(feasible ? 'ready' : 'rejected');
        if (r.status === 'ready') checkBundles([refNode(node)], bundles, r.bundles);
      }),
      fcOptions(1500),
    );
  });
});

it('the per-node device packing reference agrees with itself on the seed case (sanity of the reference)', () => {
  const n = refNode({ name: 'n', cpus: 8, gpuIds: ['a', 'b'] });
  const g = (x: number) => ({ cpu: 0, mem: 0, ib: 0, gpu: x * WHOLE });
  expect(allFitOnNode(n, [0.4, 0.4, 0.3, 0.3, 0.3, 0.3].map(g))).toBe(true);
  expect(allFitOnNode(n, [0.4, 0.4, 0.3, 0.3, 0.3, 0.31].map(g))).toBe(false);
});
