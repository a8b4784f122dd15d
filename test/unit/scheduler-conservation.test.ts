// Conservation under random operation sequences: at every step free + used == capacity (per node, per
// device, per group), nothing is ever over capacity, no pending task could have run, and after
// releasing everything the cluster is whole again. The model below is rebuilt from the scheduler's own
// answers (grants, decisions, evictions), so any lost or double-counted unit shows up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Scheduler,
  STRATEGIES,
  type Decision,
  type Grant,
  type NodeCapacity,
  type ResourceRequest,
  type Strategy,
  type Target,
} from '../../src/core/scheduler/index.js';
import {
  bundleArb,
  fcOptions,
  fitsAlone,
  refNode,
  refReq,
  refTake,
  requestArb,
  WHOLE,
  type RefNode,
} from '../support/scheduler-reference.js';

type Op =
  | { t: 'submit'; req: ResourceRequest; aim: 'any' | 'node' | 'group' | 'bundle'; pick: number }
  | { t: 'release'; pick: number }
  | { t: 'cancel'; pick: number }
  | { t: 'removeGroup'; pick: number }
  | { t: 'removeNode'; pick: number }
  | { t: 'createGroup'; bundles: ResourceRequest[]; strategy: Strategy }
  | { t: 'addNode'; cap: { cpus: number; gpus: number; memoryMb: number; ib: number } };

// Roomier nodes and small in-group requests than the admission tests: here the point is many placements,
// groups that get tasks, and evictions, not rejections.
const nodeCapArb = fc.record({
  cpus: fc.constantFrom(2, 4, 8),
  gpus: fc.integer({ min: 0, max: 4 }),
  memoryMb: fc.constantFrom(1000, 4000),
  ib: fc.constantFrom(0, 2),
});
const nodeCap = (name: string, c: { cpus: number; gpus: number; memoryMb: number; ib: number }): NodeCapacity => ({
  name,
  cpus: c.cpus,
  gpuIds: Array.from({ length: c.gpus }, (_, i) => `${name}-gpu${i}`),
  memoryMb: c.memoryMb,
  custom: c.ib ? { ib: c.ib } : {},
});
const smallRequestArb = fc
  .record({
    cpus: fc.constantFrom(0, 0.5, 1),
    gpus: fc.constantFrom(0, 0.1, 0.5, 1),
    memoryMb: fc.constantFrom(0, 100),
  })
  .map((r): ResourceRequest => r);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('submit' as const),
      req: requestArb,
      aim: fc.constantFrom('any' as const, 'node' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('submit' as const),
      req: smallRequestArb,
      aim: fc.constantFrom('group' as const, 'bundle' as const),
      pick: fc.nat(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('createGroup' as const),
      bundles: fc.array(bundleArb, { minLength: 1, maxLength: 3 }),
      strategy: fc.constantFrom(...STRATEGIES),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('removeGroup' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('removeNode' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: nodeCapArb.map((cap) => ({ t: 'addNode' as const, cap })) },
);

const opsArb = fc.array(opArb, { minLength: 10, maxLength: 50 });

class Model {
  caps = new Map<string, NodeCapacity>();
  running = new Map<string, { grant: Grant; group: string | undefined }>();
  pending = new Map<string, { req: ResourceRequest; target: Target }>();
  groups = new Map<string, Grant[] | undefined>();
  constructor(readonly s: Scheduler) {}

  apply(ds: Decision[]): void {
    for (const d of ds) {
      if (d.kind === 'placed') {
        const p = this.pending.get(d.id);
        expect(p, `placed ${d.id} was not pending`).toBeDefined();
        this.pending.delete(d.id);
        this.running.set(d.id, { grant: d.grant, group: p!.target.group });
      } else if (d.kind === 'rejected') {
        expect(this.pending.delete(d.id), `rejected ${d.id} was not pending`).toBe(true);
      } else if (d.kind === 'group-ready') {
        expect(this.groups.get(d.group), `group ${d.group} readied twice`).toBeUndefined();
        this.groups.set(d.group, d.bundles);
      } else {
        expect(this.groups.delete(d.group)).toBe(true);
      }
    }
  }

  evict(ids: string[], expected: string[]): void {
    expect([...ids].sort()).toEqual([...expected].sort());
    for (const id of ids) expect(this.running.delete(id)).toBe(true);
  }

  tasksIn(group: string): string[] {
    return [...this.running].filter(([, t]) => t.group === group).map(([id]) => id);
  }

  /** What is free on each node, from capacities minus every grant the scheduler handed out. */
  freeNodes(): Map<string, RefNode> {
    const free = new Map([...this.caps.values()].map((c) => [c.name, refNode(c)]));
    for (const t of this.running.values()) if (!t.group) refTake(free.get(t.grant.node)!, t.grant);
    for (const bundles of this.groups.values()) for (const b of bundles ?? []) refTake(free.get(b.node)!, b);
    return free;
  }

  check(): void {
    const free = this.freeNodes();
    for (const n of free.values()) {
      expect(n.cpu >= 0 && n.mem >= 0 && n.ib >= 0 && n.dev.every((d) => d >= 0), `node ${n.name} over capacity`).toBe(
        true,
      );
    }
    // inside each group, per node and device, its tasks hold no more than its bundles
    for (const [g, bundles] of this.groups) {
      const inside = this.tasksIn(g);
      if (!bundles) {
        expect(inside).toEqual([]);
        continue;
      }
      const room = new Map<string, number>();
      const add = (k: string, v: number) => room.set(k, (room.get(k) ?? 0) + v);
      for (const b of bundles) {
        add(`${b.node}/cpu`, Math.round(b.cpus * 1000));
        add(`${b.node}/mem`, b.memoryMb);
        add(`${b.node}/ib`, Math.round((b.custom.ib ?? 0) * WHOLE));
        for (const d of b.gpus) add(`${b.node}/gpu/${d.id}`, Math.round(d.share * WHOLE));
      }
      for (const id of inside) {
        const t = this.running.get(id)!.grant;
        add(`${t.node}/cpu`, -Math.round(t.cpus * 1000));
        add(`${t.node}/mem`, -t.memoryMb);
        add(`${t.node}/ib`, -Math.round((t.custom.ib ?? 0) * WHOLE));
        for (const d of t.gpus) add(`${t.node}/gpu/${d.id}`, -Math.round(d.share * WHOLE));
      }
      for (const [k, v] of room) expect(v, `group ${g} over its reservation at ${k}`).toBeGreaterThanOrEqual(0);
    }
    // free + used == capacity, in the scheduler's own totals
    const sum = (f: (n: RefNode) => number) => [...free.values()].reduce((a, n) => a + f(n), 0);
    const avail = this.s.available();
    expect(Math.round(avail.cpus * 1000)).toBe(sum((n) => n.cpu));
    expect(avail.memoryMb).toBe(sum((n) => n.mem));
    expect(Math.round(avail.gpus * WHOLE)).toBe(sum((n) => n.dev.reduce((a, d) => a + d, 0)));
    expect(Math.round((avail.custom.ib ?? 0) * WHOLE)).toBe(sum((n) => n.ib));
    const caps = [...this.caps.values()];
    expect(this.s.totals()).toMatchObject({
      nodes: caps.length,
      cpus: caps.reduce((a, c) => a + c.cpus, 0),
      gpus: caps.reduce((a, c) => a + c.gpuIds.length, 0),
    });
    const pendingGroups = [...this.groups.values()].filter((b) => b === undefined).length;
    expect(this.s.pendingCount()).toBe(this.pending.size + pendingGroups);
    // no pending task that is not inside a group could run now (every free triggers an admission pass)
    for (const [id, p] of this.pending) {
      if (p.target.group !== undefined) continue;
      const where = p.target.node !== undefined ? [free.get(p.target.node)!] : [...free.values()];
      expect(
        where.some((n) => fitsAlone(n, refReq(p.req, 1))),
        `pending ${id} fits now`,
      ).toBe(false);
    }
  }
}

function run(initial: NodeCapacity[], ops: Op[]): void {
  const s = new Scheduler();
  const m = new Model(s);
  for (const c of initial) {
    m.caps.set(c.name, c);
    m.apply(s.addNode(c));
  }
  const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
  ops.forEach((op, k) => {
    if (op.t === 'submit') {
      const id = `t${k}`;
      const ready = [...m.groups].filter(([, b]) => b).map(([g]) => g);
      const groups = ready.length && op.pick % 4 ? ready : [...m.groups.keys()];
      const g = pick(groups, op.pick);
      const target: Target =
        op.aim === 'node'
          ? { node: pick([...m.caps.keys()], op.pick) ?? 'none' }
          : op.aim === 'group' && g
            ? { group: g }
            : op.aim === 'bundle' && g
              ? { group: g, bundle: op.pick % 3 }
              : {};
      const r = s.submit(id, op.req, target);
      if (r.status === 'placed') m.running.set(id, { grant: r.grant, group: target.group });
      if (r.status === 'pending') m.pending.set(id, { req: op.req, target });
    } else if (op.t === 'release') {
      const id = pick([...m.running.keys()], op.pick);
      if (!id) return;
      m.running.delete(id);
      m.apply(s.release(id));
    } else if (op.t === 'cancel') {
      const id = pick([...m.pending.keys()], op.pick);
      if (!id) return;
      expect(s.cancel(id)).toBe(true);
      m.pending.delete(id);
    } else if (op.t === 'createGroup') {
      const id = `g${k}`;
      const r = s.createGroup(id, op.bundles, op.strategy);
      if (r.status === 'ready') m.groups.set(id, r.bundles);
      if (r.status === 'pending') m.groups.set(id, undefined);
    } else if (op.t === 'removeGroup') {
      const id = pick([...m.groups.keys()], op.pick);
      if (!id) return;
      const r = s.removeGroup(id);
      m.evict(r.evicted, m.tasksIn(id));
      m.groups.delete(id);
      m.apply(r.decisions);
    } else if (op.t === 'removeNode') {
      const name = pick([...m.caps.keys()], op.pick);
      if (!name) return;
      const r = s.removeNode(name);
      const lost = [...m.groups].filter(([, b]) => b?.some((x) => x.node === name)).map(([g]) => g);
      expect(r.groupsLost.sort()).toEqual(lost.sort());
      const onNode = [...m.running].filter(([, t]) => t.grant.node === name).map(([id]) => id);
      m.evict(r.evicted, [...new Set([...onNode, ...lost.flatMap((g) => m.tasksIn(g))])]);
      for (const g of lost) m.groups.delete(g);
      m.caps.delete(name);
      m.apply(r.decisions);
    } else if (op.t === 'addNode') {
      const cap = nodeCap(`late${k}`, op.cap);
      m.caps.set(cap.name, cap);
      m.apply(s.addNode(cap));
    }
    m.check();
  });
  // release everything: the cluster is whole again
  for (const id of [...m.pending.keys()]) {
    expect(s.cancel(id)).toBe(true);
    m.pending.delete(id);
  }
  for (const id of [...m.running.keys()]) {
    m.running.delete(id);
    m.apply(s.release(id));
  }
  for (const g of [...m.groups.keys()]) {
    m.apply(s.removeGroup(g).decisions);
    m.groups.delete(g);
  }
  m.check();
  expect(s.pendingCount()).toBe(0);
  expect(s.available()).toEqual(s.totals());
}

describe('conservation over random operation sequences', () => {
  it('free + used == capacity at every step; never over; everything released -> available == totals', () => {
    const initial = fc
      .array(nodeCapArb, { minLength: 1, maxLength: 4 })
      .map((cs) => cs.map((c, i) => nodeCap(`n${i}`, c)));
    fc.assert(
      fc.property(initial, opsArb, (nodes, ops) => {
        run(nodes, ops);
      }),
      fcOptions(Number(process.env.SCHED_RUNS ?? 1000)),
    );
  }, 120_000);
});
