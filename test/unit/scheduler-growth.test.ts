// The scheduler under autoscaling (--max-nodes): work that fits once the cluster grew waits instead
// of being refused, and the pending work and node usage the autoscaler reads.
import { describe, expect, it } from 'vitest';
import { Scheduler, type NodeCapacity } from '../../src/core/scheduler/index.js';

const node = (name: string, cpus = 4, gpus = 1): NodeCapacity => ({
  name,
  cpus,
  gpuIds: Array.from({ length: gpus }, (_, i) => String(i)),
});
const spread4 = [{ cpus: 1 }, { cpus: 1 }, { cpus: 1 }, { cpus: 1 }];

function twoNodes(upTo?: number): Scheduler {
  const s = new Scheduler();
  s.addNode(node('n1'));
  s.addNode(node('n2'));
  if (upTo !== undefined) s.setGrowth({ shape: node('shape'), upTo });
  return s;
}

describe('scheduler: growth allowance', () => {
  it('a STRICT_SPREAD group of 4 on 2 nodes is refused without growth and waits with --max-nodes 4', () => {
    expect(twoNodes().createGroup('pg', spread4, 'STRICT_SPREAD')).toEqual({
      status: 'rejected',
      reason: expect.stringContaining('need 4 distinct nodes, but the cluster has 2'),
    });
    const s = twoNodes(4);
    expect(s.createGroup('pg', spread4, 'STRICT_SPREAD')).toEqual({ status: 'pending' });
    // the nodes come: the group is ready once the fourth joined
    expect(s.addNode(node('n3'))).toEqual([]);
    expect(s.addNode(node('n4')).map((d) => d.kind)).toEqual(['group-ready']);
  });

  it('what would not fit even at --max-nodes is still refused, naming what was asked', () => {
    const s = twoNodes(3);
    expect(s.createGroup('pg', spread4, 'STRICT_SPREAD')).toMatchObject({ status: 'rejected' });
    expect(s.submit('big', { cpus: 5 })).toEqual({
      status: 'rejected',
      reason: expect.stringContaining('task big asks for 5 CPUs'),
    });
    expect(s.submit('gpus', { gpus: 2 })).toMatchObject({ status: 'rejected' });
  });

  it('a node lost does not reject work the growth could still serve', () => {
    const s = twoNodes(4);
    expect(s.createGroup('pg', spread4, 'STRICT_SPREAD')).toEqual({ status: 'pending' });
    expect(s.removeNode('n2').decisions).toEqual([]);
    expect(s.pendingDemand().map((d) => d.id)).toEqual(['pg']);
  });

  it('a shape that is no node is refused as a node would be', () => {
    expect(() => new Scheduler().setGrowth({ shape: { name: 'x', cpus: -1, gpuIds: [] }, upTo: 4 })).toThrow(
      /cpus must not be negative/,
    );
  });
});

describe('scheduler: what the autoscaler reads', () => {
  it('pendingDemand: tasks not pinned and groups, oldest first, in user units', () => {
    const s = twoNodes(4);
    for (const id of ['a', 'b']) expect(s.submit(id, { cpus: 4 }).status).toBe('placed');
    expect(s.submit('t1', { cpus: 2, gpus: 0.5, memoryMb: 0 })).toEqual({ status: 'pending' });
    expect(s.submit('pinned', { cpus: 1 }, { node: 'n1' })).toEqual({ status: 'pending' });
    expect(s.createGroup('pg', [{ cpus: 1, custom: {} }, { cpus: 2 }], 'STRICT_PACK')).toEqual({ status: 'pending' });
    expect(s.submit('t2', { cpus: 1 })).toEqual({ status: 'pending' });
    expect(s.pendingDemand()).toEqual([
      { id: 't1', kind: 'task', bundles: [{ CPU: 2, GPU: 0.5 }], strategy: 'PACK' },
      { id: 'pg', kind: 'group', bundles: [{ CPU: 1 }, { CPU: 2 }], strategy: 'STRICT_PACK' },
      { id: 't2', kind: 'task', bundles: [{ CPU: 1 }], strategy: 'PACK' },
    ]);
  });

  it('nodeUsage: free amounts, idle only when nothing runs or is reserved', () => {
    const s = twoNodes();
    expect(s.submit('a', { cpus: 1 }).status).toBe('placed');
    expect(s.createGroup('g', [{ gpus: 1 }], 'PACK')).toMatchObject({ status: 'ready' });
    // the group's GPU bundle went to n1 (the first node with room), next to task a
    expect(s.nodeUsage()).toEqual([
      { name: 'n1', free: { CPU: 3 }, idle: false },
      { name: 'n2', free: { CPU: 4, GPU: 1 }, idle: true },
    ]);
    s.release('a');
    expect(s.nodeUsage()[0]!.idle).toBe(false);
    s.removeGroup('g');
    expect(s.nodeUsage().map((u) => u.idle)).toEqual([true, true]);
  });
});
