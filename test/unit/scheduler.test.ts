// The scheduler's named cases: the seed's fractional-GPU and placement-group examples, exact capacity,
// and the rules a user meets (rejections say what was asked and what the cluster has).
import { describe, expect, it } from 'vitest';
import { Scheduler, taskRequest, type Decision, type NodeCapacity } from '../../src/core/scheduler/index.js';
import { PendingQueue } from '../../src/core/scheduler/queue.js';

const gpuNode = (name: string, gpus: number, cpus = 8): NodeCapacity => ({
  name,
  cpus,
  gpuIds: Array.from({ length: gpus }, (_, i) => String(i)),
});
const cluster = (...nodes: NodeCapacity[]) => {
  const s = new Scheduler();
  for (const n of nodes) s.addNode(n);
  return s;
};
const placedNode = (r: ReturnType<Scheduler['submit']>) => (r.status === 'placed' ? r.grant.node : r.status);

describe('fractional GPUs (the seed: 2 nodes x 1 GPU)', () => {
  it('packs four 0.5-GPU tasks two per device; the fifth waits and runs when one ends', () => {
    const s = cluster(gpuNode('node0', 1), gpuNode('node1', 1));
    const placed = ['a', 'b', 'c', 'd'].map((id) => s.submit(id, { gpus: 0.5 }));
    expect(placed.map(placedNode)).toEqual(['node0', 'node0', 'node1', 'node1']);
    expect(placed.map((r) => (r.status === 'placed' ? r.grant.gpus : []))).toEqual(
      Array(4).fill([{ id: '0', share: 0.5 }]),
    );
    expect(s.submit('e', { gpus: 0.5 })).toEqual({ status: 'pending' });
    expect(s.available().gpus).toBe(0);
    const decisions = s.release('c');
    expect(decisions).toEqual([
      {
        kind: 'placed',
        id: 'e',
        grant: { node: 'node1', cpus: 1, memoryMb: 0, custom: {}, gpus: [{ id: '0', share: 0.5 }] },
      },
    ]);
    expect(s.pendingCount()).toBe(0);
  });

  it("rejects 1.5 GPUs with Ray's rule", () => {
    const r = cluster(gpuNode('node0', 2)).submit('t', { gpus: 1.5 });
    expect(r).toEqual({
      status: 'rejected',
      reason: expect.stringContaining("GPU requests above 1 must be whole numbers (Ray's rule): ask for 1 or 2"),
    });
  });

  it('rejects 2 GPUs on 1-GPU nodes: a task is never split', () => {
    const r = cluster(gpuNode('node0', 1), gpuNode('node1', 1)).submit('t', { gpus: 2 });
    expect(r.status).toBe('rejected');
    expect(r.status === 'rejected' && r.reason).toBe(
      'task t asks for 1 CPU, 2 GPUs, but the largest node (node0) has 1 GPU, and one request never spans nodes',
    );
  });

  it('best fit: a 0.25 goes to the device that is already half used, keeping a whole device free', () => {
    const s = cluster(gpuNode('n', 2));
    s.submit('half', { gpus: 0.5, cpus: 0 });
    const q = s.submit('quarter', { gpus: 0.25, cpus: 0 });
    expect(q.status === 'placed' && q.grant.gpus).toEqual([{ id: '0', share: 0.25 }]);
    const whole = s.submit('whole', { gpus: 1, cpus: 0 });
    expect(whole.status === 'placed' && whole.grant.gpus).toEqual([{ id: '1', share: 1 }]);
  });

  it('a whole GPU needs a completely free device', () => {
    const s = cluster(gpuNode('n', 1));
    s.submit('frac', { gpus: 0.1, cpus: 0 });
    expect(s.submit('whole', { gpus: 1, cpus: 0 })).toEqual({ status: 'pending' });
    expect(s.release('frac')[0]).toMatchObject({ kind: 'placed', id: 'whole' });
  });
});

describe('exact capacity (integer accounting)', () => {
  it('demand == capacity fits; one unit over does not', () => {
    const s = cluster({ name: 'n', cpus: 4, gpuIds: ['0'], memoryMb: 1000, custom: { ib: 1 } });
    expect(s.submit('all', { cpus: 4, gpus: 1, memoryMb: 1000, custom: { ib: 1 } }).status).toBe('placed');
    expect(s.available()).toEqual({ nodes: 1, cpus: 0, gpus: 0, memoryMb: 0, custom: { ib: 0 } });
    expect(cluster({ name: 'n', cpus: 4, gpuIds: [] }).submit('over', { cpus: 4.001 }).status).toBe('rejected');
    expect(cluster({ name: 'n', cpus: 4, gpuIds: [], memoryMb: 1000 }).submit('over', { memoryMb: 1001 }).status).toBe(
      'rejected',
    );
  });

  it('ten tasks of 0.1 CPU fill exactly one CPU (no float drift)', () => {
    const s = cluster({ name: 'n', cpus: 1, gpuIds: [] });
    for (let i = 0; i < 10; i++) expect(s.submit(`t${i}`, { cpus: 0.1 }).status).toBe('placed');
    expect(s.submit('t10', { cpus: 0.1 }).status).toBe('pending');
    expect(s.available().cpus).toBe(0);
  });

  it.each([
    [{ cpus: 0.0005 }, 'cpus 0.0005 is finer than raysl accounts for: use steps of 0.001'],
    [{ gpus: 0.00001 }, 'gpus 0.00001 is finer than raysl accounts for: use steps of 0.0001'],
    [{ memoryMb: 1.5 }, 'memoryMb 1.5 is finer than raysl accounts for: use whole numbers'],
    [{ cpus: -1 }, 'cpus must not be negative, got -1'],
    [{ gpus: Number.NaN }, 'gpus must be a finite number, got null'],
    [{ cpu: 1 }, 'unknown resource "cpu": use cpus, gpus, memoryMb or custom: { name: amount }'],
    [{ custom: { GPU: 1 } }, 'custom resource name "GPU" is not allowed: use cpus, gpus or memoryMb for those'],
  ])('rejects %j', (req, reason) => {
    expect(cluster(gpuNode('n', 1)).submit('t', req as never)).toEqual({
      status: 'rejected',
      reason: `task t: ${reason}`,
    });
  });

  it('taskRequest gives a task 1 CPU unless it says otherwise', () => {
    expect(taskRequest({ gpus: 1 })).toEqual({ gpus: 1, cpus: 1 });
    expect(taskRequest({ cpus: 0 })).toEqual({ cpus: 0 });
  });
});

describe('pending queue', () => {
  it('admits in submission order, skipping shapes that do not fit', () => {
    const s = cluster({ name: 'n', cpus: 4, gpuIds: [] });
    s.submit('hog', { cpus: 4 });
    s.submit('big', { cpus: 3 });
    s.submit('small1', { cpus: 1 });
    s.submit('big2', { cpus: 3 });
    s.submit('small2', { cpus: 1 });
    expect(s.pendingCount()).toBe(4);
    const d = s.release('hog');
    expect(d.map((x) => x.kind === 'placed' && x.id)).toEqual(['big', 'small1']);
    expect(s.cancel('big2')).toBe(true);
    expect(s.cancel('big2')).toBe(false);
    expect(s.release('big').map((x) => x.kind === 'placed' && x.id)).toEqual(['small2']);
    expect(s.pendingCount()).toBe(0);
  });

  it('rejects at once what no node could ever hold, and names the largest node', () => {
    const s = cluster({ name: 'small', cpus: 2, gpuIds: [] }, { name: 'big', cpus: 16, gpuIds: [] });
    expect(s.submit('t', { cpus: 32 })).toEqual({
      status: 'rejected',
      reason: 'task t asks for 32 CPUs, but the largest node (big) has 16 CPUs',
    });
    expect(s.submit('c', { custom: { ib: 1 } })).toEqual({
      status: 'rejected',
      reason: 'task c asks for 1 CPU, 1 ib, but no node offers the custom resource "ib"',
    });
  });

  it('a pinned node that leaves rejects the work waiting for it; running work on it is evicted', () => {
    const s = cluster({ name: 'a', cpus: 1, gpuIds: [] }, { name: 'b', cpus: 1, gpuIds: [] });
    expect(placedNode(s.submit('run', {}, { node: 'b' }))).toBe('b');
    expect(s.submit('wait', {}, { node: 'b' })).toEqual({ status: 'pending' });
    expect(s.submit('x', {}, { node: 'zz' })).toMatchObject({
      status: 'rejected',
      reason: 'task x: node "zz" is not in the cluster; nodes: a, b',
    });
    const out = s.removeNode('b');
    expect(out.evicted).toEqual(['run']);
    expect(out.decisions).toEqual([
      { kind: 'rejected', id: 'wait', reason: 'task wait is pinned to node b, which has left the cluster' },
    ]);
    expect(s.totals()).toEqual({ nodes: 1, cpus: 1, gpus: 0, memoryMb: 0, custom: {} });
  });

  it('new capacity admits pending work', () => {
    const s = cluster({ name: 'a', cpus: 1, gpuIds: [] });
    s.submit('one', {});
    s.submit('two', {});
    expect(s.addNode({ name: 'b', cpus: 1, gpuIds: [] })).toEqual([
      { kind: 'placed', id: 'two', grant: expect.objectContaining({ node: 'b' }) },
    ]);
  });
});

const ones = (n: number, r = { gpus: 1 }) => Array.from({ length: n }, () => r);
const nodesOf = (gpus: number[]) => gpus.map((g, i) => gpuNode(`n${i}`, g, 64));

describe('placement groups (the seed)', () => {
  it('8 STRICT_SPREAD bundles: infeasible on 7 nodes, ready on 8', () => {
    const r7 = cluster(...nodesOf(ones(7).map(() => 1))).createGroup('g', ones(8), 'STRICT_SPREAD');
    expect(r7).toEqual({
      status: 'rejected',
      reason: 'placement group g is STRICT_SPREAD: its 8 bundles need 8 distinct nodes, but the cluster has 7',
    });
    const r8 = cluster(...nodesOf(ones(8).map(() => 1))).createGroup('g', ones(8), 'STRICT_SPREAD');
    expect(r8.status === 'ready' && new Set(r8.bundles.map((b) => b.node)).size).toBe(8);
  });

  it('STRICT_PACK of 8 x 1 GPU: ready on [8, 2], infeasible on [4, 4]', () => {
    const ok = cluster(...nodesOf([8, 2])).createGroup('g', ones(8), 'STRICT_PACK');
    expect(ok.status === 'ready' && ok.bundles.map((b) => b.node)).toEqual(ones(8).map(() => 'n0'));
    expect(ok.status === 'ready' && new Set(ok.bundles.map((b) => b.gpus[0]!.id)).size).toBe(8);
    const no = cluster(...nodesOf([4, 4])).createGroup('g', ones(8), 'STRICT_PACK');
    expect(no).toEqual({
      status: 'rejected',
      reason:
        'placement group g is STRICT_PACK: all 8 bundles (8 GPUs in total) must fit on one node, but none can hold them; the largest, n0, has 64 CPUs, 4 GPUs',
    });
  });

  it('heterogeneous STRICT_SPREAD [4,1,1]: ready on [4,1,1] (big bundle to the big node), rejected on [2,2,2]', () => {
    const bundles = [{ gpus: 1 }, { gpus: 1 }, { gpus: 4 }];
    const ok = cluster(...nodesOf([1, 1, 4])).createGroup('g', bundles, 'STRICT_SPREAD');
    expect(ok.status === 'ready' && ok.bundles.map((b) => b.node)).toEqual(['n0', 'n1', 'n2']);
    const no = cluster(...nodesOf([2, 2, 2])).createGroup('g', bundles, 'STRICT_SPREAD');
    expect(no).toEqual({
      status: 'rejected',
      reason:
        'bundle 2 of placement group g asks for 4 GPUs, but the largest node (n0) has 2 GPUs, and one request never spans nodes',
    });
  });

  it('PACK uses one node when it can, SPREAD as many as it can', () => {
    const pack = cluster(...nodesOf([2, 4])).createGroup('p', ones(4), 'PACK');
    expect(pack.status === 'ready' && pack.bundles.map((b) => b.node)).toEqual(['n1', 'n1', 'n1', 'n1']);
    const spread = cluster(...nodesOf([2, 4])).createGroup('s', ones(4), 'SPREAD');
    expect(spread.status === 'ready' && new Set(spread.bundles.map((b) => b.node)).size).toBe(2);
    const split = cluster(...nodesOf([2, 2])).createGroup('x', ones(4), 'PACK');
    expect(split.status === 'ready' && split.bundles.map((b) => b.node).sort()).toEqual(['n0', 'n0', 'n1', 'n1']);
  });

  it('PACK packs fractional bundles where greedy best fit would fail (bin packing)', () => {
    // best fit in order: 0.4,0.4 on gpu0, then 0.3 x3 on gpu1, and the last 0.3 has nowhere; 0.4+0.3+0.3 twice fits.
    const bundles = [0.4, 0.4, 0.3, 0.3, 0.3, 0.3].map((g) => ({ gpus: g }));
    const r = cluster(gpuNode('n', 2)).createGroup('g', bundles, 'STRICT_PACK');
    expect(r.status).toBe('ready');
  });

  it('all or nothing: a group waits, then reserves every bundle at once', () => {
    const s = cluster(...nodesOf([1, 1]));
    s.submit('t', { gpus: 1, cpus: 0 });
    expect(s.createGroup('g', ones(2), 'STRICT_SPREAD')).toEqual({ status: 'pending' });
    expect(s.available().gpus).toBe(1); // nothing half-reserved
    const d = s.release('t');
    expect(d).toEqual([
      {
        kind: 'group-ready',
        group: 'g',
        bundles: [expect.objectContaining({ node: 'n0' }), expect.objectContaining({ node: 'n1' })],
      },
    ]);
  });

  it('tasks run inside bundles; too big for the bundle is rejected; removeGroup evicts and frees', () => {
    const s = cluster(gpuNode('n0', 2, 8));
    s.createGroup(
      'g',
      [
        { gpus: 1, cpus: 2 },
        { gpus: 0.5, cpus: 1 },
      ],
      'PACK',
    );
    expect(s.available()).toMatchObject({ cpus: 5, gpus: 0.5 });
    const a = s.submit('a', { gpus: 0.5, cpus: 1 }, { group: 'g', bundle: 1 });
    expect(a).toEqual({
      status: 'placed',
      grant: { node: 'n0', cpus: 1, memoryMb: 0, custom: {}, gpus: [{ id: '1', share: 0.5 }] },
    });
    expect(s.submit('b', { gpus: 0.5, cpus: 1 }, { group: 'g', bundle: 1 })).toEqual({ status: 'pending' });
    expect(s.submit('c', { gpus: 1 }, { group: 'g', bundle: 1 })).toEqual({
      status: 'rejected',
      reason: 'task c asks for 1 CPU, 1 GPU, but bundle 1 of placement group g holds no whole GPU',
    });
    expect(placedNode(s.submit('d', { gpus: 1, cpus: 1 }, { group: 'g' }))).toBe('n0');
    expect(s.submit('e', {}, { group: 'nope' })).toMatchObject({
      status: 'rejected',
      reason: 'task e: placement group "nope" does not exist: create it first',
    });
    const out = s.removeGroup('g');
    expect(out.evicted).toEqual(['a', 'd']);
    expect(out.decisions).toEqual([
      { kind: 'rejected', id: 'b', reason: 'task b was waiting for placement group g, which was removed' },
    ]);
    expect(s.available()).toEqual(s.totals());
  });

  it('a node leaving loses the groups on it (whole) and evicts their tasks', () => {
    const s = cluster(...nodesOf([1, 1]));
    s.createGroup('g', ones(2), 'STRICT_SPREAD');
    s.submit('in0', { gpus: 1, cpus: 0 }, { group: 'g', bundle: 0 });
    s.submit('in1', { gpus: 1, cpus: 0 }, { group: 'g', bundle: 1 });
    const out = s.removeNode('n1');
    expect(out).toEqual({ decisions: [], evicted: ['in0', 'in1'], groupsLost: ['g'] });
    expect(s.available()).toEqual(s.totals());
  });

  it('a pending group that can no longer ever fit is rejected when a node leaves', () => {
    const s = cluster(...nodesOf([1, 1]));
    s.submit('t', { gpus: 1, cpus: 0 });
    expect(s.createGroup('g', ones(2), 'STRICT_SPREAD').status).toBe('pending');
    const out = s.removeNode('n1');
    expect(out.decisions).toEqual([
      {
        kind: 'group-rejected',
        group: 'g',
        reason: 'placement group g is STRICT_SPREAD: its 2 bundles need 2 distinct nodes, but the cluster has 1',
      },
    ] satisfies Decision[]);
    expect(s.pendingCount()).toBe(0);
  });

  it('rejects empty and malformed groups', () => {
    const s = cluster(gpuNode('n', 1));
    expect(s.createGroup('g', [], 'PACK')).toMatchObject({
      status: 'rejected',
      reason: 'placement group g has no bundles: give at least one, like [{ gpus: 1 }]',
    });
    expect(s.createGroup('g', [{}], 'PACK')).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('asks for nothing'),
    });
    expect(s.createGroup('g', [{ cpus: 1 }], 'TIGHT' as never)).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('unknown strategy "TIGHT"'),
    });
  });
});

describe('nodes', () => {
  it('refuses a bad capacity with a hint', () => {
    const s = new Scheduler();
    expect(() => s.addNode({ name: 'n', cpus: -2, gpuIds: [] })).toThrow('node n: cpus must not be negative, got -2');
    expect(() => s.addNode({ name: 'n', cpus: 2, gpuIds: ['0', '0'] })).toThrow('gpuIds must be distinct');
    s.addNode({ name: 'n', cpus: 2, gpuIds: [] });
    expect(() => s.addNode({ name: 'n', cpus: 2, gpuIds: [] })).toThrow('node n joined twice');
  });
});

describe('PendingQueue admission cost', () => {
  it('a pass over 10,000 identical pending items that do not fit asks once per shape, not once per item', () => {
    const q = new PendingQueue<number>();
    for (let i = 0; i < 10_000; i++) q.push(`same${i}`, 'shape-a', i);
    q.push('other', 'shape-b', -1);
    const asked: string[] = [];
    q.pass((item) => (asked.push(item.id), false));
    expect(asked).toEqual(['same0', 'other']);
  });

  it('places oldest first across shapes and stops a shape at its first misfit', () => {
    const q = new PendingQueue<number>();
    ['a1', 'b1', 'a2', 'b2', 'a3'].forEach((id) => q.push(id, id[0]!, 0));
    const asked: string[] = [];
    q.pass((item) => (asked.push(item.id), item.id !== 'b1' && item.id !== 'a3'));
    expect(asked).toEqual(['a1', 'b1', 'a2', 'a3']);
    expect(q.size).toBe(3); // b1, b2, a3
    expect(q.remove('b1')?.id).toBe('b1');
    expect(q.has('b2')).toBe(true);
  });
});

describe('big groups (the search budget)', () => {
  const gpus = (nodes: number, per: number) =>
    cluster(...Array.from({ length: nodes }, (_, i) => gpuNode(`n${i}`, per, 64)));

  it('places large easy groups whole: 300 x 1 GPU on 64 nodes x 8 packs onto the fewest nodes (38)', () => {
    const r = gpus(64, 8).createGroup('g', ones(300), 'PACK');
    expect(r.status === 'ready' && new Set(r.bundles.map((b) => b.node)).size).toBe(38);
    const s = gpus(64, 8).createGroup('s', ones(300), 'SPREAD');
    expect(s.status === 'ready' && new Set(s.bundles.map((b) => b.node)).size).toBe(64);
  });

  it('says so when the search budget runs out instead of searching forever', () => {
    // 40 x 0.3 GPU on 12 devices: 12 GPUs of volume, but only 3 bundles fit a device (36 in all)
    const r = gpus(4, 3).createGroup(
      'g',
      Array.from({ length: 40 }, () => ({ gpus: 0.3 })),
      'PACK',
    );
    expect(r).toEqual({
      status: 'rejected',
      reason:
        'placement group g (40 bundles, PACK) could not be placed within the search budget of 50000 steps: use fewer, larger bundles or a STRICT_ strategy',
    });
  });

  it('refuses more than MAX_BUNDLES bundles', () => {
    const r = gpus(1, 1).createGroup(
      'g',
      Array.from({ length: 1001 }, () => ({ cpus: 0.001 })),
      'PACK',
    );
    expect(r).toEqual({
      status: 'rejected',
      reason: 'placement group g has 1001 bundles; raysl places at most 1000 per group: split it',
    });
  });
});
