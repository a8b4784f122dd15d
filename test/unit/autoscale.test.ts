// The autoscaling policy (src/core/autoscale.ts): examples, then its invariants over random,
// seeded inputs (fast-check prints the seed and path of a failure to replay it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  autoscale,
  type AutoscaleDecision,
  type AutoscaleInput,
  type NodeUse,
  type PendingWork,
  type Resources,
  type SatelliteUse,
} from '../../src/core/autoscale.js';

const SHAPE: Resources = { CPU: 4, GPU: 1, memoryMb: 8000 };
const LIMITS = { maxNodes: 4, idleTimeoutMs: 60_000, scaleUpDelayMs: 5_000 };

const task = (id: string, r: Resources, waitedMs = 10_000): PendingWork => ({
  id,
  what: `task ${id}`,
  bundles: [r],
  placement: 'any',
  waitedMs,
});
const group = (
  id: string,
  bundles: Resources[],
  placement: PendingWork['placement'],
  waitedMs = 10_000,
): PendingWork => ({ id, what: `placement group ${id}`, bundles, placement, waitedMs });
const busy = (name: string, satellite?: string): NodeUse => ({
  name,
  free: {},
  idleMs: 0,
  ...(satellite !== undefined ? { satellite } : {}),
});
const idle = (name: string, idleMs: number, satellite?: string): NodeUse => ({
  name,
  free: SHAPE,
  idleMs,
  ...(satellite !== undefined ? { satellite } : {}),
});

function input(over: Partial<AutoscaleInput>): AutoscaleInput {
  return { pending: [], shape: SHAPE, nodes: [busy('n1'), busy('n2')], satellites: [], limits: LIMITS, ...over };
}

const grows = (ds: AutoscaleDecision[]) =>
  ds.filter((d): d is Extract<AutoscaleDecision, { kind: 'grow' }> => d.kind === 'grow');
const shrinksOf = (ds: AutoscaleDecision[]) =>
  ds.filter((d): d is Extract<AutoscaleDecision, { kind: 'shrink' }> => d.kind === 'shrink');

describe('autoscale: examples', () => {
  it('nothing waits and nothing idles: no decision', () => {
    expect(autoscale(input({}))).toEqual([]);
  });

  it('a STRICT_SPREAD group of 4 on a busy 2-node cluster grows by 4, naming it and the limit', () => {
    const pg = group('pg', [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }, { CPU: 1 }], 'spread');
    const ds = autoscale(input({ pending: [pg], limits: { ...LIMITS, maxNodes: 6 } }));
    expect(grows(ds)).toHaveLength(1);
    expect(grows(ds)[0]!.nodes).toBe(4);
    expect(grows(ds)[0]!.reason).toContain('placement group pg');
    expect(grows(ds)[0]!.reason).toContain('--max-nodes 6');
  });

  it('free room on the nodes there is used first: a spread group of 4 on 2 idle main nodes grows by 2', () => {
    const pg = group('pg', [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }, { CPU: 1 }], 'spread');
    const ds = autoscale(input({ pending: [pg], nodes: [idle('n1', 0), idle('n2', 0)] }));
    expect(grows(ds).map((d) => d.nodes)).toEqual([2]);
  });

  it('work younger than the scale-up delay starts nothing', () => {
    expect(autoscale(input({ pending: [task('t1', { CPU: 1 }, 4_999)] }))).toEqual([]);
  });

  it('tasks are packed onto new nodes: 9 one-CPU tasks need 3 nodes of 4 CPUs, capped at --max-nodes 4 (2 running)', () => {
    const ts = Array.from({ length: 9 }, (_, i) => task(`t${i}`, { CPU: 1 }));
    const ds = autoscale(input({ pending: ts }));
    expect(grows(ds).map((d) => d.nodes)).toEqual([2]);
    const wait = ds.find((d) => d.kind === 'wait');
    expect(wait?.reason).toContain('--max-nodes 4');
  });

  it('a satellite still queued in Slurm is capacity coming: no second grow for the same work', () => {
    const pg = group('pg', [{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }, { CPU: 1 }], 'spread');
    const sat: SatelliteUse = { id: '1234', nodes: 2, joined: [], state: 'queued' };
    const ds = autoscale(input({ pending: [pg], nodes: [idle('n1', 0), idle('n2', 0)], satellites: [sat] }));
    expect(grows(ds)).toEqual([]);
  });

  it('at --max-nodes nothing grows, and the wait says why', () => {
    const ds = autoscale(
      input({ pending: [task('t1', { CPU: 1 })], nodes: [busy('n1'), busy('n2'), busy('n3'), busy('n4')] }),
    );
    expect(grows(ds)).toEqual([]);
    expect(ds).toEqual([{ kind: 'wait', reason: expect.stringContaining('4 running + 0 coming is --max-nodes 4') }]);
  });

  it('work no node of the shape can hold starts no satellite (it stays the runtime’s infeasible error)', () => {
    for (const w of [
      task('big', { CPU: 5 }),
      task('gpu2', { GPU: 2 }),
      task('ib', { CPU: 1, ib: 1 }),
      group('pk', [{ CPU: 3 }, { CPU: 2 }], 'pack'),
      group(
        'sp',
        Array.from({ length: 5 }, () => ({ CPU: 1 })),
        'spread',
      ),
    ]) {
      const ds = autoscale(input({ pending: [w] }));
      expect(grows(ds)).toEqual([]);
      expect(ds.map((d) => d.kind)).toEqual(['wait']);
      expect(ds[0]!.reason).toContain(w.what);
    }
  });

  it('a satellite idle past the timeout is shrunk whole; the main allocation never is', () => {
    const sat: SatelliteUse = { id: '77', nodes: 2, joined: ['n3', 'n4'], state: 'running' };
    const ds = autoscale(
      input({
        nodes: [idle('n1', 600_000), idle('n2', 600_000), idle('n3', 61_000, '77'), idle('n4', 70_000, '77')],
        satellites: [sat],
      }),
    );
    expect(ds).toEqual([
      {
        kind: 'shrink',
        satellite: '77',
        nodes: ['n3', 'n4'],
        reason: expect.stringContaining('idle for 61 s, over --idle-timeout 60 s'),
      },
    ]);
  });

  it('one busy node keeps its satellite; waiting work keeps every satellite', () => {
    const sat: SatelliteUse = { id: '77', nodes: 2, joined: ['n3', 'n4'], state: 'running' };
    const nodes = [busy('n1'), busy('n2'), idle('n3', 90_000, '77'), busy('n4', '77')];
    expect(autoscale(input({ nodes, satellites: [sat] }))).toEqual([]);
    const allIdle = [busy('n1'), busy('n2'), idle('n3', 90_000, '77'), idle('n4', 90_000, '77')];
    // a task that waits (younger than the delay, too) may be the part a coming node completes
    expect(
      shrinksOf(
        autoscale(
          input({ nodes: allIdle, satellites: [sat], pending: [task('t', { CPU: 8 }), task('u', { CPU: 1 }, 0)] }),
        ),
      ),
    ).toEqual([]);
  });
});

// ---- properties ----

const resourcesArb: fc.Arbitrary<Resources> = fc.record({
  CPU: fc.integer({ min: 0, max: 6 }),
  GPU: fc.constantFrom(0, 0.5, 1, 2),
  ib: fc.constantFrom(0, 0, 1),
});
const workArb = (i: number): fc.Arbitrary<PendingWork> =>
  fc
    .record({
      // work always asks for something (a task's default is 1 CPU, an empty bundle is refused)
      bundles: fc.array(
        resourcesArb.filter((r) => Object.values(r).some((v) => v > 0)),
        { minLength: 1, maxLength: 5 },
      ),
      placement: fc.constantFrom<PendingWork['placement']>('any', 'pack', 'spread'),
      waitedMs: fc.integer({ min: 0, max: 20_000 }),
    })
    .map((w) => ({ ...w, id: `w${i}`, what: `work w${i}` }));

const inputArb: fc.Arbitrary<AutoscaleInput> = fc
  .record({
    shape: fc.record({ CPU: fc.integer({ min: 1, max: 8 }), GPU: fc.constantFrom(0, 1, 2), ib: fc.constantFrom(0, 1) }),
    mainNodes: fc.integer({ min: 1, max: 4 }),
    sats: fc.array(
      fc.record({
        nodes: fc.integer({ min: 1, max: 3 }),
        joinedOf: fc.integer({ min: 0, max: 3 }),
        state: fc.constantFrom<SatelliteUse['state']>('queued', 'running', 'draining'),
      }),
      { maxLength: 3 },
    ),
    idles: fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 16, maxLength: 16 }),
    frees: fc.array(resourcesArb, { minLength: 16, maxLength: 16 }),
    pendingCount: fc.integer({ min: 0, max: 6 }),
    maxNodes: fc.integer({ min: 1, max: 10 }),
    idleTimeoutMs: fc.integer({ min: 0, max: 90_000 }),
    scaleUpDelayMs: fc.integer({ min: 0, max: 15_000 }),
  })
  .chain((r) => fc.tuple(fc.constant(r), fc.tuple(...Array.from({ length: r.pendingCount }, (_, i) => workArb(i)))))
  .map(([r, pending]) => {
    const nodes: NodeUse[] = [];
    const node = (name: string, satellite?: string) => {
      const k = nodes.length;
      nodes.push({ name, free: r.frees[k]!, idleMs: r.idles[k]!, ...(satellite !== undefined ? { satellite } : {}) });
    };
    for (let i = 0; i < r.mainNodes; i++) node(`m${i}`);
    const satellites: SatelliteUse[] = r.sats.map((s, i) => {
      const joined =
        s.state === 'queued' ? [] : Array.from({ length: Math.min(s.nodes, s.joinedOf) }, (_, j) => `s${i}n${j}`);
      for (const n of joined) node(n, `sat${i}`);
      return { id: `sat${i}`, nodes: s.nodes, joined, state: s.state };
    });
    return {
      pending,
      shape: r.shape,
      nodes,
      satellites,
      limits: { maxNodes: r.maxNodes, idleTimeoutMs: r.idleTimeoutMs, scaleUpDelayMs: r.scaleUpDelayMs },
    };
  });

const fitsShape = (b: Resources, shape: Resources) => Object.entries(b).every(([k, v]) => v <= (shape[k] ?? 0));
const sumOf = (bs: readonly Resources[]) =>
  bs.reduce<Record<string, number>>((acc, b) => {
    for (const [k, v] of Object.entries(b)) acc[k] = (acc[k] ?? 0) + v;
    return acc;
  }, {});
/** The reference's own reading of "a node of the shape could hold it" (in whole units: the arbitraries stay on 0.5 steps). */
const holdable = (w: PendingWork, input: AutoscaleInput) =>
  w.placement === 'pack'
    ? fitsShape(sumOf(w.bundles), input.shape)
    : w.bundles.every((b) => fitsShape(b, input.shape)) &&
      (w.placement !== 'spread' || w.bundles.length <= input.limits.maxNodes);
const counted = (i: AutoscaleInput) =>
  i.nodes.length +
  i.satellites.filter((s) => s.state !== 'draining').reduce((n, s) => n + s.nodes - s.joined.length, 0);
const bundleCount = (ws: readonly PendingWork[]) =>
  ws.reduce((n, w) => n + (w.placement === 'pack' ? 1 : w.bundles.length), 0);

describe('autoscale: invariants', () => {
  const opts = { numRuns: 3000, seed: 2205 } as const;

  it('never more nodes running + coming + asked for than --max-nodes (never grows at or above it)', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const g = grows(autoscale(i)).reduce((n, d) => n + d.nodes, 0);
        if (counted(i) >= i.limits.maxNodes) expect(g).toBe(0);
        else expect(counted(i) + g).toBeLessThanOrEqual(i.limits.maxNodes);
      }),
      opts,
    );
  });

  it('grows only for work that waited the delay and that a node of the shape can hold, and by at most one node per bundle of it', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const due = i.pending.filter((w) => w.waitedMs >= i.limits.scaleUpDelayMs && holdable(w, i));
        const g = grows(autoscale(i));
        expect(g.length).toBeLessThanOrEqual(1);
        if (g.length === 1) {
          expect(g[0]!.nodes).toBeGreaterThan(0);
          expect(g[0]!.nodes).toBeLessThanOrEqual(bundleCount(due));
        }
      }),
      opts,
    );
  });

  it('the oldest due work that nodes of the shape hold, with room under --max-nodes for one node per bundle and nothing free or coming, always grows', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const bare: AutoscaleInput = {
          ...i,
          nodes: i.nodes.map((n) => ({ ...n, free: {} })),
          satellites: i.satellites.filter((s) => s.state === 'draining' || s.joined.length === s.nodes),
        };
        const due = bare.pending.filter((w) => w.waitedMs >= i.limits.scaleUpDelayMs && holdable(w, bare));
        const room = i.limits.maxNodes - counted(bare);
        const first = due.sort((a, b) => b.waitedMs - a.waitedMs || (a.id < b.id ? -1 : 1))[0];
        if (!first || room < bundleCount([first])) return;
        expect(grows(autoscale(bare)).length).toBe(1);
      }),
      opts,
    );
  });

  it('more capacity coming never asks for more nodes', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 1, max: 3 }), (i, extra) => {
        const more: AutoscaleInput = {
          ...i,
          satellites: [...i.satellites, { id: 'extra', nodes: extra, joined: [], state: 'queued' }],
        };
        const before = grows(autoscale(i)).reduce((n, d) => n + d.nodes, 0);
        const after = grows(autoscale(more)).reduce((n, d) => n + d.nodes, 0);
        expect(after).toBeLessThanOrEqual(before);
      }),
      opts,
    );
  });

  it('shrinks only whole running satellites whose every node idled past the timeout, never the main allocation, never while holdable work waits, never with a grow', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const ds = autoscale(i);
        const s = shrinksOf(ds);
        if (s.length === 0) return;
        expect(grows(ds)).toEqual([]);
        expect(i.pending.filter((w) => holdable(w, i))).toEqual([]);
        for (const d of s) {
          const sat = i.satellites.find((x) => x.id === d.satellite)!;
          expect(sat.state).toBe('running');
          expect([...d.nodes].sort()).toEqual([...sat.joined].sort());
          expect(sat.joined.length).toBe(sat.nodes);
          for (const name of d.nodes) {
            const n = i.nodes.find((x) => x.name === name)!;
            expect(n.satellite).toBe(sat.id);
            expect(n.idleMs).toBeGreaterThanOrEqual(i.limits.idleTimeoutMs);
          }
        }
      }),
      opts,
    );
  });

  it('is deterministic and says why: every decision has a reason', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const a = autoscale(i);
        expect(autoscale(i)).toEqual(a);
        for (const d of a) expect(d.reason.length).toBeGreaterThan(10);
      }),
      opts,
    );
  });
});
